#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include "vfio/linux/lib/fault-inject.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

using type1::kBatch;
using type1::kPage;

namespace {
uint64_t lowest_bit(uint64_t v) { return v & (~v + 1); }
}  // namespace

VfioIommuType1::VfioIommuType1(IommuCore& core, CpuCosts& costs, const Type1Params& p)
    : params(p), core_(core), costs_(costs) {
  ops_.name = "vfio-iommu-type1";
  ops_.open = [this](unsigned long arg, long& err) { return open(arg, err); };
  ops_.release = [this](void* d) { release(d); };
  ops_.ioctl = [this](void* d, unsigned cmd, uint64_t arg) { return ioctl(d, cmd, arg); };
  ops_.attach_group = [this](void* d, iommu_group* g, vfio_group_type t) { return attach_group(d, g, t); };
  ops_.detach_group = [this](void* d, iommu_group* g) { detach_group(d, g); };
  // vfio_iommu_type1_register_device(): devices that can be told to unpin (dma_unmap).
  ops_.register_device = [](void* d, vfio_device& dev) {
    if (!dev.ops->dma_unmap) return;
    auto* iommu = static_cast<vfio_iommu*>(d);
    mutex_guard a(iommu->lock);
    mutex_guard b(iommu->device_list_lock);
    iommu->device_list.push_back(&dev);
  };
  ops_.unregister_device = [](void* d, vfio_device& dev) {
    if (!dev.ops->dma_unmap) return;
    auto* iommu = static_cast<vfio_iommu*>(d);
    mutex_guard a(iommu->lock);
    mutex_guard b(iommu->device_list_lock);
    iommu->device_list.remove(&dev);
  };
  ops_.pin_pages = [this](void* d, iommu_group* g, uint64_t iova, int n, int prot, std::vector<uint64_t>& pages) {
    return pin_pages(static_cast<vfio_iommu*>(d), g, iova, n, prot, pages);
  };
  ops_.unpin_pages = [this](void* d, uint64_t iova, int n) { unpin_pages(static_cast<vfio_iommu*>(d), iova, n); };
  ops_.dma_rw = [this](void* d, uint64_t iova, void* buf, size_t len, bool write) {
    return dma_rw(static_cast<vfio_iommu*>(d), iova, buf, len, write);
  };
}

// vfio_iommu_type1_open()
void* VfioIommuType1::open(unsigned long arg, long& err) {
  auto* iommu = new vfio_iommu;
  switch (arg) {
    case VFIO_TYPE1_IOMMU: break;
    case VFIO_TYPE1_NESTING_IOMMU: iommu->nesting = true; [[fallthrough]];
    case VFIO_TYPE1v2_IOMMU: iommu->v2 = true; break;
    default:
      delete iommu;
      err = -EINVAL;
      return nullptr;
  }
  iommu->dma_avail = params.dma_entry_limit;  // read at SET_IOMMU
  ++live_;
  err = 0;
  return iommu;
}

// vfio_iommu_type1_release(): the last group is gone.
void VfioIommuType1::release(void* data) {
  auto* iommu = static_cast<vfio_iommu*>(data);
  while (!iommu->dma_list.empty()) remove_dma(iommu, rb_entry<vfio_dma>(rb_first(&iommu->dma_list)));
  for (vfio_domain* d : iommu->domain_list) {
    for (const vfio_iommu_group& g : d->group_list) core_.iommu_detach_group(d->domain, g.iommu_group);
    core_.iommu_domain_free(d->domain);
    delete d;
  }
  delete iommu;
  --live_;
}

uint64_t VfioIommuType1::min_pgsize(vfio_iommu* iommu) const { return lowest_bit(iommu->pgsize_bitmap); }

// vfio_update_pgsize_bitmap()
void VfioIommuType1::update_pgsize_bitmap(vfio_iommu* iommu) {
  uint64_t bitmap = ~0ULL;
  for (vfio_domain* d : iommu->domain_list) bitmap &= d->domain->pgsize_bitmap;
  if (bitmap & (kPage - 1)) {  // sub-page sizes: the CPU page size is the smallest
    bitmap &= ~(kPage - 1);
    bitmap |= kPage;
  }
  iommu->pgsize_bitmap = bitmap;
}

bool VfioIommuType1::iova_valid(vfio_iommu* iommu, uint64_t start, uint64_t end) const {
  if (iommu->iova_list.empty()) return true;
  for (const auto& r : iommu->iova_list)
    if (start >= r.start && end <= r.end) return true;
  return false;
}

long VfioIommuType1::ioctl(void* data, unsigned cmd, uint64_t arg) {
  auto* iommu = static_cast<vfio_iommu*>(data);
  switch (cmd) {
    case VFIO_CHECK_EXTENSION: return check_extension(iommu, arg);
    case VFIO_IOMMU_GET_INFO: return get_info(iommu, arg);
    case VFIO_IOMMU_MAP_DMA: return map_dma(iommu, arg);
    case VFIO_IOMMU_UNMAP_DMA: return unmap_dma(iommu, arg);
    case VFIO_IOMMU_DIRTY_PAGES: return dirty_pages(iommu, arg);
    default: return -ENOTTY;
  }
}

// vfio_iommu_map(): into every domain, unwinding on failure.
int VfioIommuType1::iommu_map_all(vfio_iommu* iommu, uint64_t iova, uint64_t phys, uint64_t size, int prot) {
  std::vector<vfio_domain*> done;
  for (vfio_domain* d : iommu->domain_list) {
    if (int ret = core_.iommu_map(d->domain, iova, phys, size, prot | IOMMU_CACHE)) {
      for (vfio_domain* u : done) core_.iommu_unmap(u->domain, iova, size);
      return ret;
    }
    done.push_back(d);
  }
  return 0;
}

// vfio_pin_map_dma(): pin in batches, map each physically contiguous run, account locked_vm.
// As in the kernel, the dma is marked IOMMU-mapped on every way out, failures included, so the
// caller's vfio_remove_dma() unmaps whatever runs were mapped before the failure (an early
// return here once left them in the IOMMU: the device could still reach the pages).
int VfioIommuType1::pin_map_dma(vfio_iommu* iommu, vfio_dma* dma, uint64_t size) {
  const int ret = pin_map_runs(iommu, dma, size);
  dma->iommu_mapped = true;
  return ret;
}

// The loop of vfio_pin_map_dma(): vfio_pin_pages_remote() then vfio_iommu_map() per run, stopping
// at the first error with dma->size covering exactly the runs that are mapped and accounted.
int VfioIommuType1::pin_map_runs(vfio_iommu* iommu, vfio_dma* dma, uint64_t size) {
  Task* t = dma->task;
  const uint64_t limit = t->rlimit_memlock >> 12;
  const uint64_t batch = params.disable_hugepages ? 1 : kBatch;
  while (dma->size < size) {
    std::vector<uint64_t> pfns;
    bool rsvd = false;
    const long got = vaddr_get_pfns(t, dma->vaddr + dma->size, std::min(batch, (size - dma->size) / kPage), pfns, rsvd);
    if (got < 0) return static_cast<int>(got);
    const uint64_t npages = static_cast<uint64_t>(got);
    for (uint64_t i = 0; i < npages;) {
      uint64_t run = 1;
      while (i + run < npages && pfns[i + run] == pfns[i] + run * kPage && !params.disable_hugepages) ++run;
      if (rsvd) {  // MMIO (an mmapped BAR): never accounted, never unpinned
        if (int ret = iommu_map_all(iommu, dma->iova + dma->size, pfns[i], run * kPage, dma->prot)) return ret;
        dma->size += run * kPage;
        i += run;
        continue;
      }
      if (!dma->lock_cap && dma->mm->locked_vm + run > limit) {
        kernel_warn("pr_warn", "vfio_pin_pages_remote: RLIMIT_MEMLOCK (" + std::to_string(t->rlimit_memlock) +
                                   ") exceeded");
        costs_.charge(Cost::UnpinUserPage, npages - i);
        return -ENOMEM;
      }
      lock_acct(dma, static_cast<int64_t>(run), false);
      dma->locked_vm += run;
      if (int ret = iommu_map_all(iommu, dma->iova + dma->size, pfns[i], run * kPage, dma->prot)) {
        lock_acct(dma, -static_cast<int64_t>(run), false);  // vfio_unpin_pages_remote(..., true)
        dma->locked_vm -= run;
        costs_.charge(Cost::UnpinUserPage, npages - i);
        return ret;
      }
      dma->size += run * kPage;
      i += run;
    }
  }
  return 0;
}

// vfio_unmap_unpin(): unmap from every domain (rediscovering runs through the first one), unpin,
// give back the accounted pages.
uint64_t VfioIommuType1::unmap_unpin(vfio_iommu* iommu, vfio_dma* dma) {
  if (!dma->size) return 0;
  if (!iommu->domain_list.empty() && dma->iommu_mapped) {
    auto first = iommu->domain_list.begin();
    for (auto it = std::next(first); it != iommu->domain_list.end(); ++it)
      core_.iommu_unmap((*it)->domain, dma->iova, dma->size);
    // The first domain is walked for physically contiguous runs, unmapped with iotlb gathering and
    // synced every VFIO_IOMMU_TLB_SYNC_MAX (512) regions.
    iommu_domain* d = (*first)->domain;
    iommu_iotlb_gather gather;
    unsigned regions = 0;
    for (uint64_t off = 0; off < dma->size;) {
      const uint64_t phys = core_.iommu_iova_to_phys(d, dma->iova + off);
      uint64_t len = kPage;
      while (off + len < dma->size && core_.iommu_iova_to_phys(d, dma->iova + off + len) == phys + len) len += kPage;
      const uint64_t unmapped = core_.iommu_unmap_fast(d, dma->iova + off, len, gather);
      off += std::max<uint64_t>(unmapped, kPage);
      if (++regions == 512) {
        core_.iommu_iotlb_sync(d, gather);
        regions = 0;
      }
    }
    core_.iommu_iotlb_sync(d, gather);
    costs_.charge(Cost::UnpinUserPage, dma->size / kPage);
  }
  dma->iommu_mapped = false;
  lock_acct(dma, -static_cast<int64_t>(dma->locked_vm), true);  // [6.1.y] the dma's own mm, if it is still there
  dma->locked_vm = 0;
  return dma->size;
}

// vfio_iommu_unmap_unpin_reaccount(): the last IOMMU domain goes while mdev groups remain: every
// mapping stays, its IOMMU pages are unmapped and unpinned, and only the externally pinned pages
// stay charged to the mapping task.
void VfioIommuType1::unmap_unpin_reaccount(vfio_iommu* iommu) {
  for (vfio_dma* dma : dma_walk(iommu->dma_list)) {
    unmap_unpin(iommu, dma);
    const uint64_t locked = dma->pfn_list.size();
    lock_acct(dma, static_cast<int64_t>(locked), true);
    dma->locked_vm = locked;
  }
}

// vfio_remove_dma()
void VfioIommuType1::remove_dma(vfio_iommu* iommu, vfio_dma* dma) {
  unmap_unpin(iommu, dma);
  if (dma->vaddr_invalid) --iommu->vaddr_invalid_count;
  rb_erase(dma, &iommu->dma_list);  // vfio_unlink_dma()
  costs_.charge(Cost::VfioDmaEntry);
  delete dma;
  ++iommu->dma_avail;
}

// vfio_iommu_type1_map_dma() + vfio_dma_do_map()
long VfioIommuType1::map_dma(vfio_iommu* iommu, uint64_t arg) {
  Task* t = current();
  vfio_iommu_type1_dma_map map{};
  const uint32_t minsz = offsetof(vfio_iommu_type1_dma_map, size) + sizeof(map.size);
  if (t->copy_from_user(&map, arg, minsz)) return -EFAULT;
  const uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
  if (map.argsz < minsz || (map.flags & ~mask)) return -EINVAL;
  int prot = 0;
  if (map.flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  if (map.flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  const bool set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
  if ((prot && set_vaddr) || (!prot && !set_vaddr)) return -EINVAL;

  mutex_guard lock(iommu->lock);
  const uint64_t pgsize = min_pgsize(iommu);
  const uint64_t iova = map.iova, vaddr = map.vaddr, size = map.size;
  if (!size || ((size | iova | vaddr) & (pgsize - 1))) return -EINVAL;
  if (iova + size - 1 < iova || vaddr + size - 1 < vaddr)  // wraps (mainline: check_add_overflow)
    return params.addressable_limit_fix ? -EOVERFLOW : -EINVAL;
  if (vfio_dma* dma = find_dma(iommu, iova, size)) {
    if (!set_vaddr) return -EEXIST;
    if (!dma->vaddr_invalid || dma->iova != iova || dma->size != size) return -EINVAL;
    if (dma->mm.get() != t->mm()) {  // [6.1.y] vfio_change_dma_owner(): a new mm (after exec) takes the charge
      const bool lock_cap = t->capable(CAP_IPC_LOCK);
      if (!lock_cap && t->mm()->locked_vm + dma->locked_vm > (t->rlimit_memlock >> 12)) return -ENOMEM;
      lock_acct(dma, -static_cast<int64_t>(dma->locked_vm), true);
      dma->task = t;
      dma->mm = t->mmgrab();
      dma->lock_cap = lock_cap;
      lock_acct(dma, static_cast<int64_t>(dma->locked_vm), false);
    }
    dma->vaddr = vaddr;
    dma->vaddr_invalid = false;
    --iommu->vaddr_invalid_count;
    return 0;
  }
  if (set_vaddr) return -ENOENT;
  if (!iommu->dma_avail) return -ENOSPC;
  if (!iova_valid(iommu, iova, iova + size - 1)) return -EINVAL;

  costs_.charge(Cost::VfioDmaEntry);
  if (should_fail(fault_site::kVfioDmaAlloc)) return -ENOMEM;  // kzalloc failed
  auto* dma = new vfio_dma;
  --iommu->dma_avail;
  dma->iova = iova;
  dma->vaddr = vaddr;
  dma->prot = prot;
  dma->task = t;
  dma->mm = t->mmgrab();
  dma->lock_cap = t->capable(CAP_IPC_LOCK);
  link_dma(iommu, dma);  // inserted with size 0, grown as it is mapped
  if (iommu->domain_list.empty()) {  // only emulated groups so far: nothing pinned or accounted
    dma->size = size;
  } else if (int ret = pin_map_dma(iommu, dma, size)) {
    remove_dma(iommu, dma);  // no partial mapping survives a failed MAP
    return ret;
  }
  if (iommu->dirty_page_tracking) {
    if (int ret = bitmap_alloc(iommu, dma)) {
      remove_dma(iommu, dma);
      return ret;
    }
  }
  return 0;
}

// vfio_dma_do_unmap()
int VfioIommuType1::dma_do_unmap(vfio_iommu* iommu, uint64_t iova, uint64_t& size, uint32_t flags,
                                 const vfio_bitmap* bitmap) {
  mutex_guard lock(iommu->lock);
  const bool all = flags & VFIO_DMA_UNMAP_FLAG_ALL;
  const bool invalidate_vaddr = flags & VFIO_DMA_UNMAP_FLAG_VADDR;
  if (invalidate_vaddr && !iommu->emulated_iommu_groups.empty()) return -EBUSY;  // [6.1.y]
  const uint64_t pgsize = min_pgsize(iommu);
  if (iova & (pgsize - 1)) return -EINVAL;
  uint64_t end;
  if (all) {
    if (iova || size) return -EINVAL;
    end = ~0ULL;  // size = U64_MAX
  } else {
    if (!size || (size & (pgsize - 1))) return -EINVAL;
    if (iova + size - 1 < iova) return params.addressable_limit_fix ? -EOVERFLOW : -EINVAL;
    end = iova + size - 1;
  }
  const uint64_t len = all ? ~0ULL : size;  // U64_MAX for UNMAP_ALL
  const bool fix = params.addressable_limit_fix;
  uint64_t unmapped = 0;
  for (int retries = 0;; ++retries) {  // the "again" label
    if (retries == 0 && bitmap && (!iommu->dirty_page_tracking || bitmap->pgsize != pgsize)) return -EINVAL;
    // v2: unmap requests must fully cover previous mappings (no splitting).
    if (iommu->v2 && !all && bisects_dma(iommu, iova, end)) return -EINVAL;
    std::vector<vfio_dma*> invalidated;
    bool again = false;
    for (rb_node* n = find_dma_first_node(iommu, iova, len); n;) {
      vfio_dma* dma = rb_entry<vfio_dma>(n);
      if (fix ? dma->iova > end : dma->iova >= iova + len) break;
      // Deliberate (observable ABI, spec §7.2): the v1 unmap quirk is kept: an unmap starting
      // inside a mapping stops there.
      if (!iommu->v2 && dma->iova < iova) break;
      n = rb_next(n);
      if (invalidate_vaddr) {
        if (dma->vaddr_invalid) {
          for (vfio_dma* d : invalidated) {
            d->vaddr_invalid = false;
            --iommu->vaddr_invalid_count;
          }
          size = 0;
          return -EINVAL;
        }
        dma->vaddr_invalid = true;
        ++iommu->vaddr_invalid_count;
        invalidated.push_back(dma);
        unmapped += dma->size;
        continue;
      }
      if (!dma->pfn_list.empty()) {
        // vfio_notify_dma_unmap(): with iommu->lock dropped, every registered device is asked to
        // unpin; then the walk starts again. The kernel BUG()s past 10 retries.
        if (retries >= 10) {
          kernel_warn("BUG", "vfio_dma_do_unmap: pages of a mapping still pinned after 10 unmap notifications");
          size = unmapped;
          return -EBUSY;
        }
        const uint64_t di = dma->iova, ds = dma->size;
        iommu->device_list_lock.lock();
        iommu->lock.unlock();
        for (vfio_device* d : std::list<vfio_device*>(iommu->device_list)) d->ops->dma_unmap(*d, di, ds);
        iommu->device_list_lock.unlock();
        iommu->lock.lock();
        again = true;
        break;
      }
      if (bitmap) {
        if (int ret = update_user_bitmap(iommu, dma, iova, reinterpret_cast<uint64_t>(bitmap->data), bitmap->size)) {
          size = unmapped;
          return ret;  // dmas already removed stay removed
        }
      }
      unmapped += dma->size;
      remove_dma(iommu, dma);
    }
    if (!again) break;
  }
  size = unmapped;
  return 0;
}

// vfio_iommu_type1_unmap_dma()
long VfioIommuType1::unmap_dma(vfio_iommu* iommu, uint64_t arg) {
  Task* t = current();
  vfio_iommu_type1_dma_unmap unmap{};
  const uint32_t minsz = offsetof(vfio_iommu_type1_dma_unmap, size) + sizeof(unmap.size);
  if (t->copy_from_user(&unmap, arg, minsz)) return -EFAULT;
  const uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
  if (unmap.argsz < minsz || (unmap.flags & ~mask)) return -EINVAL;
  if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
      (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
    return -EINVAL;
  vfio_bitmap bitmap{};
  const bool get_bitmap = unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
  if (get_bitmap) {
    if (unmap.argsz < minsz + sizeof bitmap) return -EINVAL;
    if (t->copy_from_user(&bitmap, arg + minsz, sizeof bitmap)) return -EFAULT;
    const uint64_t shift = bitmap.pgsize ? __builtin_ctzll(bitmap.pgsize) : 0;
    if (!bitmap_size_ok(unmap.size >> shift, bitmap.size)) return -EINVAL;
  }
  uint64_t size = unmap.size;
  if (int ret = dma_do_unmap(iommu, unmap.iova, size, unmap.flags, get_bitmap ? &bitmap : nullptr)) return ret;
  unmap.size = size;
  return t->copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
}

}  // namespace vfiosim::kernel
