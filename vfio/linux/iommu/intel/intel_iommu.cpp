// init_dmars(), domains, context entries and the iommu_ops glue of the VT-d driver.
#include "vfio/linux/iommu/intel/intel_iommu.h"

#include <cerrno>

#include "models/iommu/vtd_defs.h"
#include "models/pci/root_complex.h"
#include "vfio/linux/pci/acs.h"

namespace vfiosim::kernel {

using namespace vtd;

IntelIommu::IntelIommu(HostPort& cpu, CpuCosts& costs, PageAllocator& pages, InterruptController& irq,
                       uint64_t reg_base, const IommuOptions& options, EventLog* events, stats::Group& stats)
    : cpu_(cpu), costs_(costs), pages_(pages), irq_(irq), base_(reg_base), opts_(options), events_(events),
      stats_(stats) {
  qi_submits_ = &stats_.counter("qi_submits", "calls", "qi_submit_sync() calls");
  qi_polls_ = &stats_.counter("qi_polls", "loads", "Status-word loads while waiting for a wait descriptor");
  psi_flushes_ = &stats_.counter("iotlb_flush_psi", "flushes", "Page-selective IOTLB flushes submitted");
  dsi_flushes_ = &stats_.counter("iotlb_flush_dsi", "flushes", "Domain-selective IOTLB flushes submitted");
  faults_serviced_ = &stats_.counter("faults_serviced", "faults", "Fault records dmar_fault() read and cleared");
  pte_writes_ = &stats_.counter("pte_writes", "entries", "Page-table entries the driver stored");
}

IntelIommu::~IntelIommu() = default;

uint64_t IntelIommu::load64(uint64_t phys) {
  uint64_t v = 0;
  cpu_.cached_load(phys, &v, 8);
  return v;
}

void IntelIommu::store(uint64_t phys, const void* src, unsigned len) { cpu_.mem_write(phys, src, len); }

// IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, readl, cond, sts) after writing GCMD.
void IntelIommu::gcmd_and_wait(uint32_t bit, uint32_t sts, bool set) {
  if (set) gcmd_ |= bit;
  else gcmd_ &= ~bit;
  writel(GCMD_REG, gcmd_ | (bit == GCMD_SRTP ? GCMD_SRTP : 0));
  if (bit == GCMD_SRTP) gcmd_ &= ~GCMD_SRTP;  // one-shot: not kept in iommu->gcmd
  for (int i = 0; i < 1000; ++i) {
    const bool on = readl(GSTS_REG) & sts;
    if (on == set) return;
  }
}

int IntelIommu::init() {
  cap_ = readq(CAP_REG);
  ecap_ = readq(ECAP_REG);
  if (!(ecap_ & ECAP_QI)) return -ENODEV;  // this port requires queued invalidation
  // iommu_calculate_agaw(): the largest supported AGAW (5, then 4, then 3 levels).
  const unsigned sagaw = cap_sagaw(cap_);
  agaw_ = 0;
  for (unsigned aw = 3; aw >= 1; --aw)
    if (sagaw & (1u << aw)) {
      agaw_ = aw;
      break;
    }
  if (!agaw_) return -ENODEV;
  // iommu_init_domains(): a bitmap of domain ids, 0 reserved.
  did_used_.assign(1u << (4 + 2 * cap_nd(cap_)), false);
  did_used_[0] = true;
  // iommu_alloc_root_entry()
  root_ = pages_.alloc_zeroed_page();
  if (!root_) return -ENOMEM;
  // dmar_enable_qi(): queue page, status words, IQT = 0, IQA, QIE.
  qi_desc_page_ = pages_.alloc_zeroed_page();
  qi_status_page_ = pages_.alloc_zeroed_page();
  if (!qi_desc_page_ || !qi_status_page_) return -ENOMEM;
  qi_free_head_ = 0;
  writeq(IQT_REG, 0);
  writeq(IQA_REG, qi_desc_page_);  // QS = 0: one page, 256 descriptors
  gcmd_and_wait(GCMD_QIE, GSTS_QIES, true);
  // iommu_set_root_entry(), then global context-cache and IOTLB flushes.
  writeq(RTADDR_REG, root_);
  gcmd_and_wait(GCMD_SRTP, GSTS_RTPS, true);
  qi_flush_context(0, 0, 0, kGranGlobal);
  qi_flush_iotlb(0, 0, 0, kGranGlobal);
  // dmar_set_interrupt(): the fault event's MSI, unmasked, serviced by an interrupt thread.
  writel(FEDATA_REG, opts_.fault_vector);
  writel(FEADDR_REG, static_cast<uint32_t>(pci::kMsiBase));
  writel(FEUADDR_REG, 0);
  writel(FECTL_REG, 0);
  sc_core::sc_spawn([this] { fault_thread(); }, sc_core::sc_gen_unique_name("dmar_fault"));
  dmar_fault();  // clear faults pending from before (the kernel forces one pass)
  // iommu_enable_translation(): after the default domains are attached (see PciPlatform::boot).
  return 0;
}

void IntelIommu::enable_translation() { gcmd_and_wait(GCMD_TE, GSTS_TES, true); }

bool IntelIommu::capable(iommu_cap cap) const {
  switch (cap) {
    case IOMMU_CAP_CACHE_COHERENCY: return (ecap_ & ECAP_SC) != 0;  // snoop control: IOMMU_CACHE honoured
    case IOMMU_CAP_INTR_REMAP: return (ecap_ & ECAP_IR) != 0;        // irq_remapping_enabled
    case IOMMU_CAP_PRE_BOOT_PROTECTION: return false;
    default: return false;
  }
}

std::unique_ptr<iommu_domain> IntelIommu::domain_alloc(unsigned type) {
  if (type == IOMMU_DOMAIN_BLOCKED) return nullptr;  // v6.1 Intel has no blocked domain
  auto d = std::make_unique<dmar_domain>();
  if (type == IOMMU_DOMAIN_IDENTITY) {
    if (!(ecap_ & ECAP_PT)) return nullptr;  // would need a 1:1 page table of all memory
    d->identity = true;
  } else if (!(type & __IOMMU_DOMAIN_PAGING)) {
    return nullptr;
  }
  unsigned did = 1;
  while (did < did_used_.size() && did_used_[did]) ++did;
  if (did >= did_used_.size()) return nullptr;
  did_used_[did] = true;
  d->did = static_cast<uint16_t>(did);
  d->agaw = agaw_;
  d->levels = aw_levels(agaw_);
  if (!d->identity) {
    d->pgd = pages_.alloc_zeroed_page();
    if (!d->pgd) {
      did_used_[did] = false;
      return nullptr;
    }
    const unsigned sllps = cap_sllps(cap_);
    d->iommu_superpage = !opts_.superpages ? 0 : (sllps & 2) ? 2 : (sllps & 1) ? 1 : 0;
    d->pgsize_bitmap = 0x1000ULL | (d->iommu_superpage >= 1 ? 0x200000ULL : 0) |
                       (d->iommu_superpage >= 2 ? 0x40000000ULL : 0);
    const unsigned gaw = std::min(aw_bits(agaw_), cap_mgaw(cap_));
    d->geometry.aperture_start = 0;
    d->geometry.aperture_end = (gaw >= 64 ? ~0ULL : (1ULL << gaw) - 1);
    d->geometry.force_aperture = true;
  }
  return d;
}

void IntelIommu::domain_free(iommu_domain& domain) {
  auto& d = static_cast<dmar_domain&>(domain);
  for (pci_dev* dev : std::set<pci_dev*>(d.devices)) detach_dev(d, *dev);
  if (d.pgd) free_pagetables(d);
  if (d.did < did_used_.size()) did_used_[d.did] = false;
}

// iommu_context_addr(): the context entry of (bus, devfn), allocating the bus's context table.
uint64_t IntelIommu::context_addr(uint8_t bus, uint8_t devfn, bool alloc) {
  auto it = context_tables_.find(bus);
  if (it == context_tables_.end()) {
    if (!alloc) return 0;
    const uint64_t table = pages_.alloc_zeroed_page();
    if (!table) return 0;
    const uint64_t root[2] = {table | ROOT_P, 0};
    store(root_ + bus * 16ULL, root, 16);
    it = context_tables_.emplace(bus, table).first;
  }
  return it->second + devfn * 16ULL;
}

// domain_context_mapping_one() (legacy mode).
int IntelIommu::context_mapping_one(dmar_domain& d, uint8_t bus, uint8_t devfn) {
  costs_.charge(Cost::ContextWrite);
  const uint64_t ce = context_addr(bus, devfn, true);
  if (!ce) return -ENOMEM;
  if (load64(ce) & CTX_P) return 0;  // present already
  uint64_t entry[2];
  if (d.identity) {
    entry[0] = CTX_P | (CTX_TT_PASS_THROUGH << 2);
    entry[1] = agaw_ | (static_cast<uint64_t>(d.did) << 8);  // AW: the largest supported (msagaw)
  } else {
    entry[0] = (d.pgd & kAddrMask) | (CTX_TT_MULTI_LEVEL << 2) | CTX_P;
    entry[1] = d.agaw | (static_cast<uint64_t>(d.did) << 8);
  }
  store(ce, entry, 16);
  attached_[{bus, devfn}] = &d;
  // Non-present to present: without caching mode only the write buffer needs flushing (none here).
  return 0;
}

// domain_context_clear_one()
void IntelIommu::context_clear_one(uint8_t bus, uint8_t devfn) {
  const uint64_t ce = context_addr(bus, devfn, false);
  if (!ce) return;
  uint64_t hi = 0;
  cpu_.cached_load(ce + 8, &hi, 8);
  const uint16_t did_old = ctx_did(hi);
  const uint64_t zero[2] = {0, 0};
  store(ce, zero, 16);
  attached_.erase({bus, devfn});
  qi_flush_context(did_old, static_cast<uint16_t>(bus << 8 | devfn), 0, kGranPage /* device */);
  qi_flush_iotlb(did_old, 0, 0, kGranDomain);
  ++*dsi_flushes_;
}

// intel_iommu_attach_device(): detach from the previous domain, then a context entry per alias.
int IntelIommu::attach_dev(iommu_domain& domain, pci_dev& dev) {
  auto& d = static_cast<dmar_domain&>(domain);
  if (d.devices.count(&dev)) return 0;
  for (auto& [key, other] : std::map<std::pair<uint8_t, uint8_t>, dmar_domain*>(attached_))
    if (other != &d && other->devices.count(&dev)) detach_dev(*other, dev);
  int ret = 0;
  pci_for_each_dma_alias(dev, [&](pci_dev&, uint16_t alias) {
    ret = context_mapping_one(d, static_cast<uint8_t>(alias >> 8), static_cast<uint8_t>(alias & 0xFF));
    return ret;
  });
  if (ret) return ret;
  d.devices.insert(&dev);
  return 0;
}

// dmar_remove_one_dev_info(): clear the device's context entries (every alias) and flush.
void IntelIommu::detach_dev(iommu_domain& domain, pci_dev& dev) {
  auto& d = static_cast<dmar_domain&>(domain);
  if (!d.devices.erase(&dev)) return;
  pci_for_each_dma_alias(dev, [&](pci_dev&, uint16_t alias) {
    auto it = attached_.find({static_cast<uint8_t>(alias >> 8), static_cast<uint8_t>(alias & 0xFF)});
    if (it != attached_.end() && it->second == &d) context_clear_one(it->first.first, it->first.second);
    return 0;
  });
}

// intel_flush_iotlb_all()
void IntelIommu::flush_iotlb_all(iommu_domain& domain) {
  auto& d = static_cast<dmar_domain&>(domain);
  ++*dsi_flushes_;
  qi_flush_iotlb(d.did, 0, 0, kGranDomain);
}

// intel_iommu_tlb_sync(): one PSI covering the gathered range, then the freed tables go.
void IntelIommu::iotlb_sync(iommu_domain& domain, iommu_iotlb_gather& gather) {
  auto& d = static_cast<dmar_domain&>(domain);
  const uint64_t start_pfn = gather.start >> 12;
  const uint64_t pages = ((gather.end - gather.start) >> 12) + 1;
  flush_iotlb_psi(d, start_pfn, pages, gather.freelist.empty());
  costs_.charge(Cost::PgtableFree, gather.freelist.size());
  for (uint64_t p : gather.freelist) pages_.free_page(p);
  gather.freelist.clear();
}

// iommu_flush_iotlb_psi(). Linux 6.1 computes the mask from the page count alone and lets the
// hardware align the address down, which can leave the end of an unaligned range stale; this
// port widens the mask until the aligned block covers the whole range (the later upstream fix),
// so no stale entry survives — the user-visible result (the range is invalidated) is unchanged.
void IntelIommu::flush_iotlb_psi(dmar_domain& d, uint64_t pfn, uint64_t pages, bool ih) {
  unsigned mask = 0;
  while ((1ULL << mask) < pages) ++mask;
  while (((pfn >> mask) << mask) + (1ULL << mask) < pfn + pages) ++mask;
  if (!cap_psi(cap_) || mask > cap_mamv(cap_)) {
    ++*dsi_flushes_;
    qi_flush_iotlb(d.did, 0, 0, kGranDomain);
    return;
  }
  ++*psi_flushes_;
  qi_flush_iotlb(d.did, (pfn >> mask) << (mask + 12), mask, kGranPage, ih);
}

uint64_t IntelIommu::iova_to_phys(iommu_domain& domain, uint64_t iova) {
  auto& d = static_cast<dmar_domain&>(domain);
  if (d.identity) return iova;
  unsigned level = 0;
  const uint64_t pte_addr = pfn_to_dma_pte(d, iova >> 12, &level, false);
  if (!pte_addr) return 0;
  const uint64_t pte = load64(pte_addr);
  if (!(pte & (SL_R | SL_W))) return 0;
  const uint64_t mask = (1ULL << level_shift(level)) - 1;
  return (pte & kAddrMask & ~mask) | (iova & mask);
}

// intel_iommu_get_resv_regions(): the interrupt (MSI) window, and RMRRs (none here).
void IntelIommu::get_resv_regions(pci_dev&, std::vector<iommu_resv_region>& out) {
  out.push_back({pci::kMsiBase, pci::kMsiSize, IOMMU_WRITE | IOMMU_MMIO, IOMMU_RESV_MSI});
}

}  // namespace vfiosim::kernel
