// type1 services for emulated-IOMMU (mdev) drivers (drivers/vfio/vfio_iommu_type1.c, §3.10): vfio_pin_pages/vfio_unpin_pages with
// their accounting when no IOMMU domain charged the pages, and vfio_dma_rw.
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

using type1::kBatch;
using type1::kPage;

// vaddr_get_pfns(): pin_user_pages_remote(); for a VM_IO | VM_PFNMAP mapping (an mmapped BAR)
// the pfns follow_fault_pfn() finds, faulting the mapping in through the driver (which refuses
// while memory decode is off): reserved pages, contiguous across the mapping. Returns the pages
// found (1..npages) or -EFAULT.
long VfioIommuType1::vaddr_get_pfns(Task* t, uint64_t vaddr, uint64_t npages, std::vector<uint64_t>& pfns, bool& rsvd) {
  rsvd = false;
  const vm_area* vma = t->find_vma(vaddr);
  if (vma && vma->io) {
    if (vma->io_ok && !vma->io_ok()) return -EFAULT;  // VM_FAULT_SIGBUS
    const uint64_t n = std::min(npages, (vma->end - vaddr) / kPage);
    costs_.charge(Cost::PinUserPage, n);  // one follow_fault_pfn() per page
    pfns.clear();
    for (uint64_t i = 0; i < n; ++i) pfns.push_back(vma->io_phys + (vaddr - vma->start) + i * kPage);
    rsvd = true;
    return static_cast<long>(n);
  }
  costs_.charge(vma && vma->hugetlb ? Cost::PinUserHugePage : Cost::PinUserPage, npages);
  if (t->pin_user_pages(vaddr, npages, pfns)) return -EFAULT;
  return static_cast<long>(npages);
}

// Drops one external pin of the page at `iova` (vfio_unpin_page_external); the last unaccounts
// it when no IOMMU domain did.
void VfioIommuType1::unpin_external(vfio_iommu* iommu, vfio_dma* dma, uint64_t iova) {
  auto it = dma->pfn_list.find(iova);
  if (it == dma->pfn_list.end()) return;
  if (--it->second.ref_count) return;
  dma->pfn_list.erase(it);
  costs_.charge(Cost::UnpinUserPage);
  if (iommu->domain_list.empty() && dma->locked_vm) {
    lock_acct(dma, -1, true);
    --dma->locked_vm;
  }
}

// vfio_iommu_find_iommu_group(): the container's record of `g`, IOMMU-backed or emulated.
vfio_iommu_group* VfioIommuType1::find_iommu_group(vfio_iommu* iommu, const iommu_group* g) {
  for (vfio_domain* d : iommu->domain_list)
    for (vfio_iommu_group& vg : d->group_list)
      if (vg.iommu_group == g) return &vg;
  for (vfio_iommu_group& vg : iommu->emulated_iommu_groups)
    if (vg.iommu_group == g) return &vg;
  return nullptr;
}

// vfio_iommu_type1_pin_pages(): all or nothing. The first pin through an IOMMU-backed group puts
// the group in the pinned-page dirty scope: from then on only its pinned and written pages are
// reported dirty.
int VfioIommuType1::pin_pages(vfio_iommu* iommu, iommu_group* g, uint64_t iova, int npage, int prot,
                              std::vector<uint64_t>& pages) {
  if (!iommu) return -EINVAL;
  if (!iommu->v2) return -EACCES;
  mutex_guard lock(iommu->lock);
  if (iommu->vaddr_invalid_count) {
    kernel_warn("WARNING", "vfio_pin_pages not allowed with VFIO_UPDATE_VADDR");
    return -EBUSY;
  }
  if (iommu->device_list.empty()) return -EINVAL;  // no dma_unmap notifier registered
  const bool do_accounting = iommu->domain_list.empty();
  pages.assign(static_cast<size_t>(npage), 0);
  auto unwind = [&](int done, int ret) {
    for (int j = 0; j < done; ++j) {
      if (vfio_dma* d = find_dma(iommu, iova + j * kPage, kPage)) unpin_external(iommu, d, iova + j * kPage);
      pages[static_cast<size_t>(j)] = 0;
    }
    pages[static_cast<size_t>(done)] = 0;
    return ret;
  };
  for (int i = 0; i < npage; ++i) {
    const uint64_t at = iova + i * kPage;
    vfio_dma* dma = find_dma(iommu, at, kPage);
    if (!dma) return unwind(i, -EINVAL);
    if ((dma->prot & prot) != prot) return unwind(i, -EPERM);
    auto it = dma->pfn_list.find(at);
    if (it != dma->pfn_list.end()) {
      ++it->second.ref_count;
      pages[static_cast<size_t>(i)] = it->second.phys;
      continue;
    }
    std::vector<uint64_t> phys;
    bool rsvd = false;
    if (!mm_alive(dma) || vaddr_get_pfns(dma->task, dma->vaddr + (at - dma->iova), 1, phys, rsvd) < 0)
      return unwind(i, -EFAULT);
    if (rsvd) {  // an MMIO page: handed out, not tracked or accounted
      pages[static_cast<size_t>(i)] = phys[0];
      continue;
    }
    if (do_accounting && !dma->lock_cap && dma->mm->locked_vm + 1 > (dma->task->rlimit_memlock >> 12)) {
      kernel_warn("pr_warn", "vfio_pin_page_external: RLIMIT_MEMLOCK exceeded");
      return unwind(i, -ENOMEM);
    }
    if (do_accounting) {
      lock_acct(dma, 1, true);
      ++dma->locked_vm;
    }
    dma->pfn_list[at] = {phys[0], 1};
    mark_dirty(iommu, dma, at);
    pages[static_cast<size_t>(i)] = phys[0];
  }
  vfio_iommu_group* group = find_iommu_group(iommu, g);
  if (group && !group->pinned_page_dirty_scope) {
    group->pinned_page_dirty_scope = true;
    --iommu->num_non_pinned_groups;
  }
  return npage;
}

void VfioIommuType1::unpin_pages(vfio_iommu* iommu, uint64_t iova, int npage) {
  if (!iommu->v2) {
    kernel_warn("WARNING", "vfio_unpin_pages on a v1 container");
    return;
  }
  mutex_guard lock(iommu->lock);
  for (int i = 0; i < npage; ++i) {
    vfio_dma* dma = find_dma(iommu, iova + i * kPage, kPage);
    if (!dma) {
      kernel_warn("WARNING", "vfio_unpin_pages: not every page was pinned");
      return;
    }
    unpin_external(iommu, dma, iova + i * kPage);
  }
}

// vfio_iommu_type1_dma_rw(): through the mapping task's memory, chunk by chunk across dmas.
int VfioIommuType1::dma_rw(vfio_iommu* iommu, uint64_t iova, void* buf, size_t len, bool write) {
  mutex_guard lock(iommu->lock);
  if (iommu->vaddr_invalid_count) {
    kernel_warn("WARNING", "vfio_dma_rw not allowed with VFIO_UPDATE_VADDR");
    return -EBUSY;
  }
  auto* bytes = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    vfio_dma* dma = find_dma(iommu, iova + done, 1);
    if (!dma) return -EINVAL;
    if ((write && !(dma->prot & IOMMU_WRITE)) || !(dma->prot & IOMMU_READ)) return -EPERM;
    Task* cur = current();
    if (cur && cur != dma->task) return -EFAULT;  // another process's mm: nothing is copied
    if (!mm_alive(dma)) return -EFAULT;          // the mapping's address space is gone (exec)
    const uint64_t off = iova + done - dma->iova;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len - done, dma->size - off));
    const int ret = write ? dma->task->copy_to_user(dma->vaddr + off, bytes + done, n)
                          : dma->task->copy_from_user(bytes + done, dma->vaddr + off, n);
    if (ret) return -EFAULT;
    if (write)
      for (uint64_t a = (iova + done) & ~(min_pgsize(iommu) - 1); a < iova + done + n; a += min_pgsize(iommu))
        mark_dirty(iommu, dma, a);
    done += n;
  }
  return 0;
}

}  // namespace vfiosim::kernel
