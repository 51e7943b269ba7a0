// Devices joining and leaving domains in the VT-d driver (iommu.c, v6.1): the domain's per-unit
// state (domain_attach_iommu / domain_detach_iommu, domain_update_iommu_cap), the checks a device's
// unit must pass (prepare_domain_attach_device), and the context entries of every DMA alias
// (domain_context_mapping_one / domain_context_clear_one).
#include <cerrno>
#include <cstdio>

#include "models/iommu/vtd_defs.h"
#include "vfio/linux/drivers/iommu/intel/iommu.h"
#include "vfio/linux/drivers/pci/pci_acs.h"

namespace vfiosim::kernel {

using namespace vtd;

// domain_update_iommu_superpage(): the superpage sizes every active unit supports (v6.1 looks at
// all units, not only the domain's).
int IntelIommu::domain_update_iommu_superpage() const {
  if (!opts_.superpages) return 0;
  unsigned mask = 0x3;
  for (const auto& u : units_) mask &= cap_sllps(u->cap);
  return mask & 2 ? 2 : mask & 1 ? 1 : 0;  // fls(mask)
}

// domain_update_iommu_cap(): superpages and the aperture follow the domain's current width.
void IntelIommu::domain_update_iommu_cap(dmar_domain& d) {
  d.iommu_superpage = domain_update_iommu_superpage();
  if (d.identity) return;
  d.geometry.aperture_end = d.gaw >= 64 ? ~0ULL : (1ULL << d.gaw) - 1;
  d.pgsize_bitmap |= (d.iommu_superpage >= 1 ? 0x200000ULL : 0) | (d.iommu_superpage >= 2 ? 0x40000000ULL : 0);
}

// domain_attach_iommu(): the domain's first device behind `iommu` takes a domain id there.
int IntelIommu::domain_attach_iommu(dmar_domain& d, intel_iommu& iommu) {
  auto it = d.iommu_array.find(iommu.seq_id);
  if (it != d.iommu_array.end()) {
    ++it->second.refcnt;
    return 0;
  }
  size_t num = 1;
  while (num < iommu.domain_ids.size() && iommu.domain_ids[num]) ++num;
  if (num >= iommu.domain_ids.size()) {
    if (events_)
      events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg",
                   {{"message", "DMAR: " + iommu.name + ": No free domain ids"}});
    return -ENOSPC;
  }
  iommu.domain_ids[num] = true;
  d.iommu_array[iommu.seq_id] = {&iommu, static_cast<uint16_t>(num), 1};
  domain_update_iommu_cap(d);
  return 0;
}

// domain_detach_iommu(): the last device behind `iommu` gives the domain id back.
void IntelIommu::domain_detach_iommu(dmar_domain& d, intel_iommu& iommu) {
  auto it = d.iommu_array.find(iommu.seq_id);
  if (it == d.iommu_array.end() || --it->second.refcnt) return;
  iommu.domain_ids[it->second.did] = false;
  d.iommu_array.erase(it);
  domain_update_iommu_cap(d);
}

// prepare_domain_attach_device(): the device's unit must be able to walk the domain's tables. A
// force-snooping domain refuses a unit without snoop control (-EOPNOTSUPP); a domain with
// mappings above the unit's width refuses it (-EFAULT); otherwise the domain takes the unit's
// width and drops page-table levels the unit cannot walk.
int IntelIommu::prepare_domain_attach_device(dmar_domain& d, pci_dev& dev, intel_iommu* iommu) {
  if (!iommu) return -ENODEV;
  if (d.force_snooping && !(iommu->ecap & ECAP_SC)) return -EOPNOTSUPP;
  if (d.identity) return 0;
  const unsigned addr_width = std::min(aw_bits(iommu->agaw), cap_mgaw(iommu->cap));
  if (d.max_addr > (1ULL << addr_width)) {
    if (events_) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    "%s: prepare_domain_attach_device: iommu width (%u) is not sufficient for the mapped address (%llx)",
                    dev.name().c_str(), addr_width, static_cast<unsigned long long>(d.max_addr));
      events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg", {{"message", msg}});
    }
    return -EFAULT;
  }
  d.gaw = addr_width;
  // Knock out extra levels of page tables. v6.1 frees each old top table even when a wider unit's
  // context entries still point at it (a use-after-free for that unit's walks), and with an
  // empty first entry keeps the same page at the new depth (so that unit walks it one level too
  // deep). This port keeps the user-visible result (the domain narrows) without either: while
  // other units use the domain, the old top stays until the domain goes and its first entry
  // leads to the new top, so the wider units keep translating the same low range.
  while (iommu->agaw < d.agaw) {
    const uint64_t top = load64(d.pgd);
    const uint64_t old = d.pgd;
    if (top & (SL_R | SL_W)) {
      d.pgd = top & kAddrMask;
      if (d.iommu_array.empty()) pages_.free_page(old);
      else d.retired_tops.push_back(old);
    } else if (!d.iommu_array.empty()) {
      const uint64_t fresh = pages_.alloc_zeroed_page();
      if (!fresh) return -ENOMEM;
      const uint64_t entry = fresh | SL_R | SL_W;
      store(old, &entry, 8);
      d.pgd = fresh;
      d.retired_tops.push_back(old);
    }
    --d.agaw;
  }
  return 0;
}

// iommu_context_addr(): the context entry of (bus, devfn), allocating the bus's context table.
uint64_t IntelIommu::context_addr(intel_iommu& u, uint8_t bus, uint8_t devfn, bool alloc) {
  auto it = u.context_tables.find(bus);
  if (it == u.context_tables.end()) {
    if (!alloc) return 0;
    const uint64_t table = pages_.alloc_zeroed_page();
    if (!table) return 0;
    const uint64_t root[2] = {table | ROOT_P, 0};
    store(u.root + bus * 16ULL, root, 16);
    it = u.context_tables.emplace(bus, table).first;
  }
  return it->second + devfn * 16ULL;
}

// domain_context_mapping_one() (legacy mode): the domain's id on this unit; a unit narrower than
// the domain's tables skips their top levels.
int IntelIommu::context_mapping_one(dmar_domain& d, intel_iommu& u, uint8_t bus, uint8_t devfn) {
  costs_.charge(Cost::ContextWrite);
  const uint64_t ce = context_addr(u, bus, devfn, true);
  if (!ce) return -ENOMEM;
  if (load64(ce) & CTX_P) return 0;  // present already
  const uint16_t did = d.iommu_array.at(u.seq_id).did;
  uint64_t entry[2];
  if (d.identity) {
    entry[0] = CTX_P | (CTX_TT_PASS_THROUGH << 2);
    entry[1] = u.msagaw | (static_cast<uint64_t>(did) << 8);  // AW: the largest supported
  } else {
    uint64_t pgd = d.pgd;
    unsigned agaw = d.agaw;
    for (; agaw > u.agaw; --agaw) {
      const uint64_t pte = load64(pgd);
      if (!(pte & (SL_R | SL_W))) return -ENOMEM;
      pgd = pte & kAddrMask;
    }
    entry[0] = (pgd & kAddrMask) | (CTX_TT_MULTI_LEVEL << 2) | CTX_P;
    entry[1] = agaw | (static_cast<uint64_t>(did) << 8);
  }
  store(ce, entry, 16);
  u.attached[{bus, devfn}] = &d;
  // Non-present to present: without caching mode only the write buffer needs flushing (none here).
  return 0;
}

// domain_context_clear_one(): clear the entry, then flush the context cache for the device and the
// IOTLB for the domain id it had.
void IntelIommu::context_clear_one(intel_iommu& u, uint8_t bus, uint8_t devfn) {
  const uint64_t ce = context_addr(u, bus, devfn, false);
  if (!ce) return;
  uint64_t hi = 0;
  cpu_.cached_load(ce + 8, &hi, 8);
  const uint16_t did_old = ctx_did(hi);
  const uint64_t zero[2] = {0, 0};
  store(ce, zero, 16);
  u.attached.erase({bus, devfn});
  qi_flush_context(u, did_old, static_cast<uint16_t>(bus << 8 | devfn), 0, kGranPage /* device */);
  qi_flush_iotlb(u, did_old, 0, 0, kGranDomain);
  ++*dsi_flushes_;
}

// dmar_remove_one_dev_info(): clear the device's context entries (every alias), then it leaves
// the domain and, if it was the last there, the domain leaves its unit.
void IntelIommu::dmar_remove_one_dev_info(pci_dev& dev) {
  auto it = dev_domain_.find(&dev);
  if (it == dev_domain_.end()) return;
  dmar_domain& d = *it->second;
  intel_iommu* u = pci_device_to_iommu(dev);
  if (u)
    pci_for_each_dma_alias(dev, [&](pci_dev&, uint16_t alias) {
      const auto key = std::make_pair(static_cast<uint8_t>(alias >> 8), static_cast<uint8_t>(alias & 0xFF));
      auto a = u->attached.find(key);
      if (a != u->attached.end() && a->second == &d) context_clear_one(*u, key.first, key.second);
      return 0;
    });
  d.devices.erase(&dev);
  dev_domain_.erase(it);
  if (u) domain_detach_iommu(d, *u);
}

// intel_iommu_attach_device(): leave the previous domain, pass the unit checks, then
// domain_add_dev_info(): the domain joins the unit and every alias gets a context entry. A device
// no unit knows (not PCI) fails as device_to_iommu() does, -ENODEV.
int IntelIommu::attach_dev(iommu_domain& domain, device* target) {
  if (!dev_is_pci(target)) return -ENODEV;
  pci_dev& dev = *to_pci_dev(target);
  auto& d = static_cast<dmar_domain&>(domain);
  if (d.devices.count(&dev)) return 0;
  if (dev_domain_.count(&dev)) dmar_remove_one_dev_info(dev);
  intel_iommu* u = pci_device_to_iommu(dev);
  if (int ret = prepare_domain_attach_device(d, dev, u)) return ret;
  if (int ret = domain_attach_iommu(d, *u)) return ret;
  d.devices.insert(&dev);
  dev_domain_[&dev] = &d;
  int ret = 0;
  pci_for_each_dma_alias(dev, [&](pci_dev&, uint16_t alias) {
    ret = context_mapping_one(d, *u, static_cast<uint8_t>(alias >> 8), static_cast<uint8_t>(alias & 0xFF));
    return ret;
  });
  if (ret) dmar_remove_one_dev_info(dev);  // "Domain context map failed"
  return ret;
}

// intel_iommu_release_device(): a removed device leaves whatever domain it is in.
void IntelIommu::release_device(device* dev) {
  if (dev_is_pci(dev)) dmar_remove_one_dev_info(*to_pci_dev(dev));
}

// intel_iommu_detach_device()
void IntelIommu::detach_dev(iommu_domain& domain, device* dev) {
  if (!dev_is_pci(dev)) return;
  auto it = dev_domain_.find(to_pci_dev(dev));
  if (it != dev_domain_.end() && it->second == &domain) dmar_remove_one_dev_info(*to_pci_dev(dev));
}

}  // namespace vfiosim::kernel
