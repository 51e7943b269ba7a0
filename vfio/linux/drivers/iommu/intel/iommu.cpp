// init_dmars(), domains, context entries and the iommu_ops glue of the VT-d driver.
#include "vfio/linux/drivers/iommu/intel/iommu.h"

#include <cerrno>

#include "models/iommu/vtd_defs.h"
#include "models/pci/msi_window.h"
#include "vfio/linux/drivers/pci/pci_acs.h"

namespace vfiosim::kernel {

using namespace vtd;

IntelIommu::IntelIommu(HostPort& cpu, CpuCosts& costs, PageAllocator& pages, IrqCore& irqs,
                       std::vector<DmarDrhd> dmar, const IommuOptions& options, EventLog* events, stats::Group& stats)
    : cpu_(cpu), costs_(costs), pages_(pages), irqs_(irqs), opts_(options), events_(events), stats_(stats) {
  qi_submits_ = &stats_.counter("qi_submits", "calls", "qi_submit_sync() calls");
  qi_polls_ = &stats_.counter("qi_polls", "loads", "Status-word loads while waiting for a wait descriptor");
  psi_flushes_ = &stats_.counter("iotlb_flush_psi", "flushes", "Page-selective IOTLB flushes submitted");
  dsi_flushes_ = &stats_.counter("iotlb_flush_dsi", "flushes", "Domain-selective IOTLB flushes submitted");
  faults_serviced_ = &stats_.counter("faults_serviced", "faults", "Fault records dmar_fault() read and cleared");
  pte_writes_ = &stats_.counter("pte_writes", "entries", "Page-table entries the driver stored");
  // dmar_parse_one_drhd(): one intel_iommu per DRHD, named in table order.
  for (auto& drhd : dmar) {
    auto u = std::make_unique<intel_iommu>();
    u->seq_id = static_cast<unsigned>(units_.size());
    u->name = "dmar" + std::to_string(u->seq_id);
    u->drhd = std::move(drhd);
    units_.push_back(std::move(u));
  }
}

IntelIommu::~IntelIommu() = default;

uint64_t IntelIommu::load64(uint64_t phys) {
  uint64_t v = 0;
  cpu_.cached_load(phys, &v, 8);
  return v;
}

void IntelIommu::store(uint64_t phys, const void* src, unsigned len) { cpu_.mem_write(phys, src, len); }

// IOMMU_WAIT_OP(iommu, DMAR_GSTS_REG, readl, cond, sts) after writing GCMD.
void IntelIommu::gcmd_and_wait(intel_iommu& u, uint32_t bit, uint32_t sts, bool set) {
  if (set) u.gcmd |= bit;
  else u.gcmd &= ~bit;
  writel(u, GCMD_REG, u.gcmd | (bit == GCMD_SRTP ? GCMD_SRTP : 0));
  if (bit == GCMD_SRTP) u.gcmd &= ~GCMD_SRTP;  // one-shot: not kept in iommu->gcmd
  for (int i = 0; i < 1000; ++i) {
    const bool on = readl(u, GSTS_REG) & sts;
    if (on == set) return;
  }
}

// init_dmars(): every unit, in DMAR table order.
int IntelIommu::init() {
  for (auto& u : units_)
    if (int ret = init_unit(*u)) return ret;
  return 0;
}

// One unit's part of init_dmars(): alloc_iommu() reads CAP/ECAP and the AGAWs, then the domain-id
// bitmap, the root table, queued invalidation and the fault interrupt.
int IntelIommu::init_unit(intel_iommu& u) {
  u.cap = readq(u, CAP_REG);
  u.ecap = readq(u, ECAP_REG);
  if (!(u.ecap & ECAP_QI)) return -ENODEV;  // this port requires queued invalidation
  // iommu_calculate_agaw() / iommu_calculate_max_sagaw(): the widest supported depth (5, then 4,
  // then 3 levels); both agree because no unit offers more than 57 bits.
  const unsigned sagaw = cap_sagaw(u.cap);
  u.agaw = 0;
  for (unsigned aw = 3; aw >= 1; --aw)
    if (sagaw & (1u << aw)) {
      u.agaw = aw;
      break;
    }
  if (!u.agaw) return -ENODEV;
  u.msagaw = u.agaw;
  // iommu_init_domains(): a bitmap of domain ids, 0 reserved.
  u.domain_ids.assign(1u << (4 + 2 * cap_nd(u.cap)), false);
  u.domain_ids[0] = true;
  // iommu_alloc_root_entry()
  u.root = pages_.alloc_zeroed_page();
  if (!u.root) return -ENOMEM;
  // dmar_enable_qi(): queue page, status words, IQT = 0, IQA, QIE.
  u.qi_desc_page = pages_.alloc_zeroed_page();
  u.qi_status_page = pages_.alloc_zeroed_page();
  if (!u.qi_desc_page || !u.qi_status_page) return -ENOMEM;
  u.qi_free_head = 0;
  writeq(u, IQT_REG, 0);
  writeq(u, IQA_REG, u.qi_desc_page);  // QS = 0: one page, 256 descriptors
  gcmd_and_wait(u, GCMD_QIE, GSTS_QIES, true);
  // iommu_set_root_entry(), then global context-cache and IOTLB flushes.
  writeq(u, RTADDR_REG, u.root);
  gcmd_and_wait(u, GCMD_SRTP, GSTS_RTPS, true);
  qi_flush_context(u, 0, 0, 0, kGranGlobal);
  qi_flush_iotlb(u, 0, 0, 0, kGranGlobal);
  if (int ret = dmar_set_interrupt(u)) return ret;
  dmar_fault(u);  // clear faults pending from before (the kernel forces one pass)
  // iommu_enable_translation(): after the default domains are attached (see PciPlatform::boot).
  return 0;
}

void IntelIommu::enable_translation() {
  for (auto& u : units_) gcmd_and_wait(*u, GCMD_TE, GSTS_TES, true);
}

// device_to_iommu(): only PCI devices are in DMAR scopes here (no ACPI namespace devices).
intel_iommu* IntelIommu::device_to_iommu(const device* dev) const {
  if (!dev_is_pci(dev)) return nullptr;
  return pci_device_to_iommu(*to_pci_dev(dev));
}

// dmar_find_matched_drhd_unit() as device_to_iommu() uses it: a listed root-bus device (or the
// bridge above the device's hierarchy) picks its unit; anything else the INCLUDE_PCI_ALL unit.
intel_iommu* IntelIommu::pci_device_to_iommu(const pci_dev& dev) const {
  const pci_dev* p = dev.physfn ? dev.physfn : &dev;  // VFs are not in scope tables: use the PF
  while (p->bus && p->bus->self) p = p->bus->self;
  intel_iommu* catch_all = nullptr;
  for (const auto& u : units_) {
    if (u->drhd.include_all) {
      catch_all = u.get();
      continue;
    }
    for (uint8_t devfn : u->drhd.scope)
      if (devfn == p->devfn) return u.get();
  }
  return catch_all;
}

// intel_iommu_capable() (v6.1): VT-d DMA is always coherent when IOMMU_CACHE is asked for (the
// SNP bit is only needed to override no-snoop, see enforce_cache_coherency); interrupt remapping
// is enabled only when every unit has it.
bool IntelIommu::capable(iommu_cap cap) const {
  switch (cap) {
    case IOMMU_CAP_CACHE_COHERENCY: return true;
    case IOMMU_CAP_INTR_REMAP:
      for (const auto& u : units_)
        if (!(u->ecap & ECAP_IR)) return false;
      return !units_.empty();
    case IOMMU_CAP_PRE_BOOT_PROTECTION: return false;
    default: return false;
  }
}

// intel_iommu_enforce_cache_coherency(): possible when the unit of every device in the domain has
// snoop control; from then on new entries carry SNP and units without SC cannot join.
bool IntelIommu::enforce_cache_coherency(iommu_domain& domain) {
  auto& d = static_cast<dmar_domain&>(domain);
  if (d.force_snooping) return true;
  for (pci_dev* dev : d.devices) {  // domain_support_force_snooping()
    const intel_iommu* u = pci_device_to_iommu(*dev);
    if (!u || !(u->ecap & ECAP_SC)) return false;
  }
  d.set_pte_snp = true;  // domain_set_force_snooping(), second-level tables
  d.force_snooping = true;
  return true;
}

// intel_iommu_domain_alloc(): a domain belongs to no unit yet, so it starts at the default width
// (md_domain_init with DEFAULT_DOMAIN_ADDRESS_WIDTH = 57: five levels); attaching a device narrows
// it to the unit's width (prepare_domain_attach_device).
std::unique_ptr<iommu_domain> IntelIommu::domain_alloc(unsigned type) {
  if (type == IOMMU_DOMAIN_BLOCKED) return nullptr;  // v6.1 Intel has no blocked domain
  auto d = std::make_unique<dmar_domain>();
  if (type == IOMMU_DOMAIN_IDENTITY) {
    // si_domain: hardware pass-through when every unit has it (1:1 tables are not ported).
    for (const auto& u : units_)
      if (!(u->ecap & ECAP_PT)) return nullptr;
    d->identity = true;
    return d;
  }
  if (!(type & __IOMMU_DOMAIN_PAGING)) return nullptr;
  constexpr unsigned kDefaultWidth = 57;
  d->gaw = kDefaultWidth;
  d->agaw = (kDefaultWidth - 30 + 8) / 9;  // width_to_agaw()
  d->pgd = pages_.alloc_zeroed_page();
  if (!d->pgd) return nullptr;
  d->pgsize_bitmap = 0x1000ULL;  // intel_iommu_ops.pgsize_bitmap; superpages come with a unit
  d->geometry.aperture_start = 0;
  d->geometry.aperture_end = (1ULL << kDefaultWidth) - 1;
  d->geometry.force_aperture = true;
  return d;
}

void IntelIommu::domain_free(iommu_domain& domain) {
  auto& d = static_cast<dmar_domain&>(domain);
  for (pci_dev* dev : std::set<pci_dev*>(d.devices)) detach_dev(d, &dev->dev);
  if (d.pgd) free_pagetables(d);
  for (uint64_t p : d.retired_tops) pages_.free_page(p);
  d.retired_tops.clear();
}

// intel_flush_iotlb_all(): a domain-selective flush on every unit of the domain.
void IntelIommu::flush_iotlb_all(iommu_domain& domain) {
  auto& d = static_cast<dmar_domain&>(domain);
  for (auto& [seq, info] : d.iommu_array) {
    ++*dsi_flushes_;
    qi_flush_iotlb(*info.iommu, info.did, 0, 0, kGranDomain);
  }
}

// intel_iommu_tlb_sync(): one PSI covering the gathered range on every unit of the domain, then
// the freed tables go.
void IntelIommu::iotlb_sync(iommu_domain& domain, iommu_iotlb_gather& gather) {
  auto& d = static_cast<dmar_domain&>(domain);
  const uint64_t start_pfn = gather.start >> 12;
  const uint64_t pages = ((gather.end - gather.start) >> 12) + 1;
  for (auto& [seq, info] : d.iommu_array)
    flush_iotlb_psi(*info.iommu, info.did, start_pfn, pages, gather.freelist.empty());
  costs_.charge(Cost::PgtableFree, gather.freelist.size());
  for (uint64_t p : gather.freelist) pages_.free_page(p);
  gather.freelist.clear();
}

// iommu_flush_iotlb_psi(). Linux 6.1 computes the mask from the page count alone and lets the
// hardware align the address down, which can leave the end of an unaligned range stale; this
// port widens the mask until the aligned block covers the whole range (the later upstream fix),
// so no stale entry survives — the user-visible result (the range is invalidated) is unchanged.
void IntelIommu::flush_iotlb_psi(intel_iommu& u, uint16_t did, uint64_t pfn, uint64_t pages, bool ih) {
  unsigned mask = 0;
  while ((1ULL << mask) < pages) ++mask;
  while (((pfn >> mask) << mask) + (1ULL << mask) < pfn + pages) ++mask;
  if (!cap_psi(u.cap) || mask > cap_mamv(u.cap)) {
    ++*dsi_flushes_;
    qi_flush_iotlb(u, did, 0, 0, kGranDomain);
    return;
  }
  ++*psi_flushes_;
  qi_flush_iotlb(u, did, (pfn >> mask) << (mask + 12), mask, kGranPage, ih);
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
void IntelIommu::get_resv_regions(device*, std::vector<iommu_resv_region>& out) {
  out.push_back({pci::kMsiBase, pci::kMsiSize, IOMMU_WRITE | IOMMU_MMIO, IOMMU_RESV_MSI});
}

}  // namespace vfiosim::kernel
