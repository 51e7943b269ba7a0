// type1 groups and domains (drivers/vfio/vfio_iommu_type1.c, v6.1.y; §3.7): attach with the aperture and reserved-region checks, MSI
// isolation and domain reuse, replay of the existing mappings into a new domain, detach.
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

using type1::kBatch;
using type1::kPage;

// vfio_iommu_replay(): copy the existing translations into a new domain; the first domain of a
// container whose mappings so far served only mdev groups pins and maps every page now.
int VfioIommuType1::replay(vfio_iommu* iommu, vfio_domain* domain) {
  iommu_domain* from = iommu->domain_list.empty() ? nullptr : iommu->domain_list.front()->domain;
  struct run {
    vfio_dma* dma;
    uint64_t iova, size, accounted;
    bool pinned;
  };
  std::vector<run> mapped;  // for unwinding
  auto unpin = [&](const run& r) {  // vfio_unpin_pages_remote() of a run the replay pinned
    if (!r.pinned) return;
    costs_.charge(Cost::UnpinUserPage, r.size / kPage);
    lock_acct(r.dma, -static_cast<int64_t>(r.accounted), false);
    r.dma->locked_vm -= r.accounted;
  };
  auto unwind = [&](int ret) {
    for (auto m = mapped.rbegin(); m != mapped.rend(); ++m) {
      core_.iommu_unmap(domain->domain, m->iova, m->size);
      unpin(*m);
    }
    return ret;
  };
  for (vfio_dma* dma : dma_walk(iommu->dma_list)) {
    for (uint64_t off = 0; off < dma->size;) {
      uint64_t phys = 0, len = kPage, accounted = 0;
      if (dma->iommu_mapped) {  // rediscover the runs through the first domain
        phys = core_.iommu_iova_to_phys(from, dma->iova + off);
        while (off + len < dma->size && core_.iommu_iova_to_phys(from, dma->iova + off + len) == phys + len) len += kPage;
      } else {  // only mdev groups so far: pin now (vfio_pin_pages_remote), charging the pages
                // that an external pin has not charged already
        Task* t = dma->task;
        std::vector<uint64_t> pfns;
        bool rsvd = false;
        const long got = mm_alive(dma) ? vaddr_get_pfns(t, dma->vaddr + off, std::min(params.disable_hugepages ? 1 : kBatch,
                                                                                       (dma->size - off) / kPage),
                                                        pfns, rsvd)
                                       : -EFAULT;
        if (got < 0) return unwind(-EFAULT);
        const uint64_t npages = static_cast<uint64_t>(got);
        phys = pfns[0];
        uint64_t n = 1;
        while (n < npages && pfns[n] == phys + n * kPage && !params.disable_hugepages) ++n;
        len = n * kPage;
        if (!rsvd)  // MMIO pages are never accounted
          for (uint64_t k = 0; k < n; ++k) accounted += !dma->pfn_list.count(dma->iova + off + k * kPage);
        if (!dma->lock_cap && dma->mm->locked_vm + accounted > (t->rlimit_memlock >> 12)) {
          kernel_warn("pr_warn", "vfio_pin_pages_remote: RLIMIT_MEMLOCK (" + std::to_string(t->rlimit_memlock) +
                                     ") exceeded");
          costs_.charge(Cost::UnpinUserPage, n);
          return unwind(-ENOMEM);
        }
        lock_acct(dma, static_cast<int64_t>(accounted), false);
        dma->locked_vm += accounted;
      }
      const run r{dma, dma->iova + off, len, accounted, !dma->iommu_mapped};
      if (int ret = core_.iommu_map(domain->domain, r.iova, phys, len, dma->prot | IOMMU_CACHE)) {
        unpin(r);
        return unwind(ret);
      }
      mapped.push_back(r);
      off += len;
    }
  }
  for (vfio_dma* dma : dma_walk(iommu->dma_list)) dma->iommu_mapped = true;  // every dma is pinned and mapped now
  return 0;
}

// vfio_iommu_type1_attach_group()
int VfioIommuType1::attach_group(void* data, iommu_group* g, vfio_group_type type) {
  auto* iommu = static_cast<vfio_iommu*>(data);
  mutex_guard lock(iommu->lock);
  if (iommu->vaddr_invalid_count) return -EBUSY;  // [6.1.y]: attach could require pinning
  if (find_iommu_group(iommu, g)) return -EINVAL;
  if (type == VFIO_EMULATED_IOMMU) {
    iommu->emulated_iommu_groups.push_back({g, true});
    return 0;
  }
  // The domain comes from the bus of the group's first device, under the group's own lock in
  // the kernel (the representative is used for nothing else and no reference is taken).
  if (g->devices.empty()) return -EIO;
  iommu_domain* dom = core_.iommu_domain_alloc();
  if (!dom) return -EIO;
  auto* domain = new vfio_domain;
  domain->domain = dom;
  auto fail = [&](int ret) {
    core_.iommu_domain_free(dom);
    delete domain;
    return ret;
  };
  // A nesting container needs iommu_enable_nesting(), which the VT-d driver of 6.1 lacks in
  // legacy mode: -EINVAL from the core.
  if (iommu->nesting) return fail(-EINVAL);
  if (int ret = core_.iommu_attach_group(dom, g)) return fail(ret);
  // The valid IOVA list: intersect with the aperture, carve out reserved regions, refuse to cut
  // an existing mapping.
  // vfio_iommu_aper_conflict(): an empty list (no domain yet, perhaps mdev mappings anywhere)
  // never conflicts; such a mapping beyond the aperture fails later, in the replay's iommu_map.
  std::list<vfio_iova> list = iommu->iova_list;
  const uint64_t ap_start = dom->geometry.aperture_start, ap_end = dom->geometry.aperture_end;
  bool conflict = false;
  if (!list.empty()) {
    const uint64_t first = list.front().start, last = list.back().end;
    conflict = ap_start > last || ap_end < first;
    if (!conflict && ap_start > first) conflict = find_dma(iommu, first, ap_start - first) != nullptr;
    if (!conflict && ap_end < last) conflict = find_dma(iommu, ap_end + 1, last - ap_end) != nullptr;
  }
  if (list.empty()) list.push_back({0, ~0ULL});
  if (conflict) {
    core_.iommu_detach_group(dom, g);
    return fail(-EINVAL);
  }
  std::list<vfio_iova> clipped;
  for (const auto& r : list)
    if (!(r.end < ap_start || r.start > ap_end)) clipped.push_back({std::max(r.start, ap_start), std::min(r.end, ap_end)});
  for (const auto& resv : core_.iommu_get_group_resv_regions(g)) {
    if (resv.type == IOMMU_RESV_DIRECT_RELAXABLE) continue;
    const uint64_t rs = resv.start, re = resv.start + resv.length - 1;
    for (vfio_dma* dma : dma_walk(iommu->dma_list))
      if (!(dma->iova + dma->size - 1 < rs || dma->iova > re)) {
        core_.iommu_detach_group(dom, g);
        return fail(-EINVAL);
      }
    std::list<vfio_iova> out;
    for (const auto& r : clipped) {
      if (r.end < rs || r.start > re) {
        out.push_back(r);
        continue;
      }
      if (r.start < rs) out.push_back({r.start, rs - 1});
      if (r.end > re) out.push_back({re + 1, r.end});
    }
    clipped = std::move(out);
  }
  if (clipped.empty()) {
    core_.iommu_detach_group(dom, g);
    return fail(-EINVAL);
  }
  // MSI isolation.
  if (!core_.iommu_capable(IOMMU_CAP_INTR_REMAP) && !params.allow_unsafe_interrupts) {
    kernel_warn("pr_warn", "vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the module param "
                           "\"allow_unsafe_interrupts\" to enable VFIO IOMMU support on this platform");
    core_.iommu_detach_group(dom, g);
    return fail(-EPERM);
  }
  // If the IOMMU can block no-snoop TLPs VFIO always turns that on (KVM then skips wbinvd).
  domain->enforce_cache_coherency = dom->driver && dom->driver->enforce_cache_coherency(*dom);
  // Domain reuse: a compatible existing domain takes the group instead.
  for (vfio_domain* d : iommu->domain_list) {
    if (d->enforce_cache_coherency != domain->enforce_cache_coherency) continue;
    core_.iommu_detach_group(dom, g);
    if (!core_.iommu_attach_group(d->domain, g)) {
      d->group_list.push_back({g, false});
      fail(0);
      iommu->iova_list = std::move(clipped);
      ++iommu->num_non_pinned_groups;
      return 0;
    }
    if (int ret = core_.iommu_attach_group(dom, g)) return fail(ret);
  }
  if (int ret = replay(iommu, domain)) {
    core_.iommu_detach_group(dom, g);
    return fail(ret);
  }
  domain->group_list.push_back({g, false});
  iommu->domain_list.push_back(domain);
  update_pgsize_bitmap(iommu);
  iommu->iova_list = std::move(clipped);
  ++iommu->num_non_pinned_groups;
  return 0;
}

// vfio_iommu_populate_bitmap_full(): every page of every dma is dirty.
void VfioIommuType1::populate_bitmap_full(vfio_iommu* iommu) {
  const uint64_t pg = min_pgsize(iommu);
  for (vfio_dma* dma : dma_walk(iommu->dma_list)) {
    const uint64_t n = dma->size / pg;
    std::fill(dma->bitmap.begin(), dma->bitmap.end(), ~0ULL);
    if (n % 64 && !dma->bitmap.empty()) dma->bitmap.back() = (1ULL << (n % 64)) - 1;
  }
}

// vfio_iommu_type1_detach_group()
void VfioIommuType1::detach_group(void* data, iommu_group* g) {
  auto* iommu = static_cast<vfio_iommu*>(data);
  mutex_guard lock(iommu->lock);
  auto em = std::find_if(iommu->emulated_iommu_groups.begin(), iommu->emulated_iommu_groups.end(),
                         [g](const vfio_iommu_group& vg) { return vg.iommu_group == g; });
  if (em != iommu->emulated_iommu_groups.end()) {
    iommu->emulated_iommu_groups.erase(em);
    if (iommu->emulated_iommu_groups.empty() && iommu->domain_list.empty())
      while (!iommu->dma_list.empty()) remove_dma(iommu, rb_entry<vfio_dma>(rb_first(&iommu->dma_list)));
    return;
  }
  for (auto it = iommu->domain_list.begin(); it != iommu->domain_list.end(); ++it) {
    vfio_domain* d = *it;
    auto gi = std::find_if(d->group_list.begin(), d->group_list.end(),
                           [g](const vfio_iommu_group& vg) { return vg.iommu_group == g; });
    if (gi == d->group_list.end()) continue;
    const bool scoped = gi->pinned_page_dirty_scope;
    core_.iommu_detach_group(d->domain, g);
    d->group_list.erase(gi);
    if (d->group_list.empty()) {
      if (iommu->domain_list.size() == 1) {
        if (iommu->emulated_iommu_groups.empty()) {  // vfio_iommu_unmap_unpin_all(): every mapping goes
          while (!iommu->dma_list.empty()) remove_dma(iommu, rb_entry<vfio_dma>(rb_first(&iommu->dma_list)));
        } else {
          unmap_unpin_reaccount(iommu);  // mdev groups still use the mappings
        }
      }
      // (When the first of several domains goes, the next becomes first and holds the same maps.)
      core_.iommu_domain_free(d->domain);
      iommu->domain_list.erase(it);
      delete d;
      update_pgsize_bitmap(iommu);
      if (iommu->domain_list.empty()) iommu->iova_list.clear();
    }
    // A group outside the pinned-page scope may have dirtied any page before it left.
    if (!scoped) {
      --iommu->num_non_pinned_groups;
      if (iommu->dirty_page_tracking) populate_bitmap_full(iommu);
    }
    return;
  }
}

}  // namespace vfiosim::kernel
