// The Intel VT-d driver (drivers/iommu/intel/{dmar.c,iommu.c}, v6.1, legacy mode) for the
// models/iommu units: the DMAR table's DRHDs with their device scopes (device_to_iommu),
// init_dmars() per unit (root table, queued invalidation, fault interrupt, translation enable),
// dmar_domain spanning units (a domain id per unit, width and superpages narrowed to what every
// unit can do, force snooping), second-level page tables in simulated memory, context entries per
// DMA alias, map/unmap with superpages, page-selective / domain-selective IOTLB flushes on every
// unit of a domain through qi_submit_sync(), and dmar_fault(). Every table write is a CPU store into simulated memory;
// every register access is MMIO; the CPU work is charged from the cost table.
// Not ported: scalable mode and PASID, first-level tables, nested translation, interrupt
// remapping, register-based invalidation (QI is required), ATS/device-TLB, kdump table copying.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "models/cpu/host_port.h"
#include "sim/base/event_log.h"
#include "vfio/linux/drivers/iommu/iommu.h"
#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/mm/page_alloc.h"

namespace vfiosim::kernel {

/// Kernel command-line options of the IOMMU layer.
struct IommuOptions {
  bool superpages = true;   // intel_iommu=sp_off clears it
  bool strict = false;      // iommu.strict=1: DMA-API unmaps invalidate synchronously
  bool passthrough = false; // iommu=pt: identity default domains
  unsigned flush_batch = 250;                 // lazy: queued unmaps that force a flush
  uint64_t flush_timeout_ps = 10000000000ULL; // lazy: 10 ms after the first queued unmap
};

/// One DRHD structure of the ACPI DMAR table: a remapping unit's register page and its device
/// scope, as the firmware describes the platform to the kernel.
struct DmarDrhd {
  uint64_t reg_base = 0;
  bool include_all = false;   // INCLUDE_PCI_ALL: every device no other unit lists
  std::vector<uint8_t> scope; // root-bus devfns; a bridge stands for its whole hierarchy
};

struct dmar_domain;

/// struct intel_iommu: one remapping unit as the driver keeps it.
struct intel_iommu {
  unsigned seq_id = 0;
  std::string name;  // "dmar0", "dmar1", ...
  DmarDrhd drhd;
  uint64_t cap = 0;
  uint64_t ecap = 0;
  unsigned agaw = 0;    // iommu_calculate_agaw(): the widest supported depth up to 57 bits
  unsigned msagaw = 0;  // iommu_calculate_max_sagaw(): the widest supported depth
  uint32_t gcmd = 0;    // what Linux keeps in iommu->gcmd
  uint64_t root = 0;    // root table
  uint64_t qi_desc_page = 0;
  uint64_t qi_status_page = 0;
  unsigned qi_free_head = 0;
  unsigned qi_slots = 256;
  unsigned irq = 0;  // the fault event's irq (dmar_alloc_hwirq)
  std::vector<bool> domain_ids;                  // iommu->domain_ids (0 reserved)
  std::map<uint16_t, uint64_t> context_tables;  // bus -> context table page
  std::map<std::pair<uint8_t, uint8_t>, dmar_domain*> attached;  // (bus, devfn) -> domain
};

/// struct iommu_domain_info: a domain's domain id on one unit, and how many of its devices sit
/// behind that unit.
struct iommu_domain_info {
  intel_iommu* iommu = nullptr;
  uint16_t did = 0;
  unsigned refcnt = 0;
};

struct dmar_domain : iommu_domain {
  std::map<unsigned, iommu_domain_info> iommu_array;  // by intel_iommu::seq_id
  uint64_t pgd = 0;         // physical address of the top-level table (0: identity)
  unsigned agaw = 0;        // AW field encoding: 1 = 3 levels (39 bits) .. 3 = 5 levels (57 bits)
  unsigned gaw = 0;         // guest address width in bits
  int iommu_superpage = 0;  // 0: none, 1: 2 MiB, 2: 2 MiB and 1 GiB
  bool identity = false;
  bool force_snooping = false;  // intel_iommu_enforce_cache_coherency() succeeded
  bool set_pte_snp = false;     // new second-level entries carry SNP
  std::set<pci_dev*> devices;
  uint64_t max_addr = 0;
  /// Top-level tables prepare_domain_attach_device() knocked out while another unit's context
  /// entries still pointed at them (see there); freed with the domain.
  std::vector<uint64_t> retired_tops;
  unsigned levels() const { return agaw + 2; }
};

struct qi_desc {
  uint64_t qw0 = 0;
  uint64_t qw1 = 0;
};

class IntelIommu : public IommuDriver {
 public:
  IntelIommu(HostPort& cpu, CpuCosts& costs, PageAllocator& pages, IrqCore& irqs,
             std::vector<DmarDrhd> dmar, const IommuOptions& options, EventLog* events, stats::Group& stats);
  ~IntelIommu() override;

  /// intel_iommu_init() -> init_dmars(): for every unit, reads CAP/ECAP, sets up the root table,
  /// QI and the fault interrupt. Runs in the boot thread. Returns 0 or -errno (no QI: -ENODEV).
  int init();
  /// iommu_enable_translation() on every unit, once the default domains are attached.
  void enable_translation();
  const std::vector<std::unique_ptr<intel_iommu>>& units() const { return units_; }

  // IommuDriver
  bool capable(iommu_cap cap) const override;
  std::unique_ptr<iommu_domain> domain_alloc(unsigned type) override;
  void domain_free(iommu_domain& domain) override;
  int attach_dev(iommu_domain& domain, device* dev) override;
  void detach_dev(iommu_domain& domain, device* dev) override;
  int map_pages(iommu_domain& domain, uint64_t iova, uint64_t paddr, size_t pgsize, size_t pgcount, int prot,
                size_t* mapped) override;
  size_t unmap_pages(iommu_domain& domain, uint64_t iova, size_t pgsize, size_t pgcount,
                     iommu_iotlb_gather& gather) override;
  void flush_iotlb_all(iommu_domain& domain) override;
  void iotlb_sync(iommu_domain& domain, iommu_iotlb_gather& gather) override;
  uint64_t iova_to_phys(iommu_domain& domain, uint64_t iova) override;
  void get_resv_regions(device* dev, std::vector<iommu_resv_region>& out) override;
  unsigned def_domain_type(device*) override { return 0; }
  bool enforce_cache_coherency(iommu_domain& domain) override;
  void release_device(device* dev) override;

  /// device_to_iommu(): the unit whose DMAR scope holds `dev` (a VF is looked up as its PF), else
  /// the INCLUDE_PCI_ALL unit; nullptr if none, and for a device not on the PCI bus (no DMAR
  /// scope names it).
  intel_iommu* device_to_iommu(const device* dev) const;

  /// qi_submit_sync(): queues `count` descriptors plus a wait descriptor, rings IQT and polls the
  /// wait descriptor's status word. -EINVAL on an invalidation queue error.
  int qi_submit_sync(intel_iommu& iommu, const qi_desc* desc, unsigned count);
  void qi_flush_context(intel_iommu& iommu, uint16_t did, uint16_t sid, unsigned fm, unsigned gran);
  void qi_flush_iotlb(intel_iommu& iommu, uint16_t did, uint64_t addr, unsigned size_order, unsigned gran,
                      bool ih = false);
  /// iommu_flush_iotlb_psi(): page-selective when possible, else domain-selective.
  void flush_iotlb_psi(intel_iommu& iommu, uint16_t did, uint64_t pfn, uint64_t pages, bool ih);

  /// Faults dmar_fault() has serviced.
  uint64_t faults_serviced() const { return faults_serviced_->value(); }

 private:
  uint32_t readl(const intel_iommu& u, uint32_t off) { return static_cast<uint32_t>(cpu_.read(u.drhd.reg_base + off, 4)); }
  uint64_t readq(const intel_iommu& u, uint32_t off) { return cpu_.read(u.drhd.reg_base + off, 8); }
  void writel(const intel_iommu& u, uint32_t off, uint32_t v) { cpu_.write(u.drhd.reg_base + off, 4, v); }
  void writeq(const intel_iommu& u, uint32_t off, uint64_t v) { cpu_.write(u.drhd.reg_base + off, 8, v); }
  uint64_t load64(uint64_t phys);
  void store(uint64_t phys, const void* src, unsigned len);
  void gcmd_and_wait(intel_iommu& u, uint32_t bit, uint32_t sts, bool set);  // IOMMU_WAIT_OP on GSTS
  int init_unit(intel_iommu& u);

  // Domains across units (iommu.c)
  int domain_attach_iommu(dmar_domain& d, intel_iommu& iommu);
  void domain_detach_iommu(dmar_domain& d, intel_iommu& iommu);
  void domain_update_iommu_cap(dmar_domain& d);
  int domain_update_iommu_superpage() const;
  intel_iommu* pci_device_to_iommu(const pci_dev& dev) const;  // device_to_iommu() past dev_is_pci
  int prepare_domain_attach_device(dmar_domain& d, pci_dev& dev, intel_iommu* iommu);
  void dmar_remove_one_dev_info(pci_dev& dev);

  // Context entries (context.cpp)
  uint64_t context_addr(intel_iommu& u, uint8_t bus, uint8_t devfn, bool alloc);  // iommu_context_addr
  int context_mapping_one(dmar_domain& d, intel_iommu& u, uint8_t bus, uint8_t devfn);
  void context_clear_one(intel_iommu& u, uint8_t bus, uint8_t devfn);

  // Page tables (pgtable.cpp)
  int domain_mapping(dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t nr_pages, int prot);
  unsigned largepage_caps(const dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t pages) const;
  uint64_t pfn_to_dma_pte(dmar_domain& d, uint64_t pfn, unsigned* target_level, bool alloc);
  static bool domain_pfn_supported(const dmar_domain& d, uint64_t pfn);
  void clear_level(dmar_domain& d, unsigned level, uint64_t table, uint64_t pfn, uint64_t start, uint64_t last,
                   std::vector<uint64_t>& freelist);
  void list_pagetables(dmar_domain& d, unsigned level, uint64_t table, std::vector<uint64_t>& freelist);
  void free_pagetables(dmar_domain& d);

  // Faults (qi.cpp)
  int dmar_set_interrupt(intel_iommu& u);
  void dmar_fault(intel_iommu& u);

  HostPort& cpu_;
  CpuCosts& costs_;
  PageAllocator& pages_;
  IrqCore& irqs_;
  irq_chip dmar_msi_chip_;  // DMAR-MSI: the fault event registers
  IommuOptions opts_;
  EventLog* events_;
  stats::Group& stats_;
  std::vector<std::unique_ptr<intel_iommu>> units_;
  std::map<const pci_dev*, dmar_domain*> dev_domain_;  // device_domain_info->domain

  stats::Counter* qi_submits_;
  stats::Counter* qi_polls_;
  stats::Counter* psi_flushes_;
  stats::Counter* dsi_flushes_;
  stats::Counter* faults_serviced_;
  stats::Counter* pte_writes_;
};

}  // namespace vfiosim::kernel
