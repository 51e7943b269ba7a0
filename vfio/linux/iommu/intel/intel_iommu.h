// The Intel VT-d driver (drivers/iommu/intel/{dmar.c,iommu.c}, v6.1, legacy mode) for the
// models/iommu unit: init_dmars() (root table, queued invalidation, fault interrupt, translation
// enable), dmar_domain with its second-level page tables in simulated memory, context entries per
// DMA alias, map/unmap with superpages, page-selective / domain-selective IOTLB flushes through
// qi_submit_sync(), and dmar_fault(). Every table write is a CPU store into simulated memory;
// every register access is MMIO; the CPU work is charged from the cost table.
// Not ported: scalable mode and PASID, first-level tables, nested translation, interrupt
// remapping, register-based invalidation (QI is required), ATS/device-TLB, kdump table copying.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "models/cpu/host_port.h"
#include "models/cpu/interrupt_controller.h"
#include "sim/base/event_log.h"
#include "vfio/linux/iommu/iommu.h"
#include "vfio/linux/mm/page_alloc.h"

namespace vfiosim::kernel {

/// Kernel command-line options of the IOMMU layer.
struct IommuOptions {
  bool superpages = true;   // intel_iommu=sp_off clears it
  bool strict = false;      // iommu.strict=1: DMA-API unmaps invalidate synchronously
  bool passthrough = false; // iommu=pt: identity default domains
  unsigned flush_batch = 250;                 // lazy: queued unmaps that force a flush
  uint64_t flush_timeout_ps = 10000000000ULL; // lazy: 10 ms after the first queued unmap
  uint32_t fault_vector = 0x30;               // MSI data the fault event uses
};

struct dmar_domain : iommu_domain {
  uint16_t did = 0;
  uint64_t pgd = 0;         // physical address of the top-level table (0: identity / blocked)
  unsigned levels = 4;      // agaw_to_level(agaw)
  unsigned agaw = 2;        // AW field encoding
  int iommu_superpage = 0;  // 0: none, 1: 2 MiB, 2: 2 MiB and 1 GiB
  bool identity = false;
  std::set<pci_dev*> devices;
  uint64_t max_addr = 0;
};

struct qi_desc {
  uint64_t qw0 = 0;
  uint64_t qw1 = 0;
};

class IntelIommu : public IommuDriver {
 public:
  IntelIommu(HostPort& cpu, CpuCosts& costs, PageAllocator& pages, InterruptController& irq, uint64_t reg_base,
             const IommuOptions& options, EventLog* events, stats::Group& stats);
  ~IntelIommu() override;

  /// init_dmars(): reads CAP/ECAP, sets up the root table, QI and the fault interrupt, then enables
  /// translation. Runs in the boot thread. Returns 0 or -errno (no QI: -ENODEV).
  int init();
  /// iommu_enable_translation(): sets GCMD.TE once the default domains are attached.
  void enable_translation();
  uint64_t cap() const { return cap_; }
  uint64_t ecap() const { return ecap_; }

  // IommuDriver
  bool capable(iommu_cap cap) const override;
  std::unique_ptr<iommu_domain> domain_alloc(unsigned type) override;
  void domain_free(iommu_domain& domain) override;
  int attach_dev(iommu_domain& domain, pci_dev& dev) override;
  void detach_dev(iommu_domain& domain, pci_dev& dev) override;
  int map_pages(iommu_domain& domain, uint64_t iova, uint64_t paddr, size_t pgsize, size_t pgcount, int prot,
                size_t* mapped) override;
  size_t unmap_pages(iommu_domain& domain, uint64_t iova, size_t pgsize, size_t pgcount,
                     iommu_iotlb_gather& gather) override;
  void flush_iotlb_all(iommu_domain& domain) override;
  void iotlb_sync(iommu_domain& domain, iommu_iotlb_gather& gather) override;
  uint64_t iova_to_phys(iommu_domain& domain, uint64_t iova) override;
  void get_resv_regions(pci_dev& dev, std::vector<iommu_resv_region>& out) override;
  unsigned def_domain_type(pci_dev&) override { return 0; }

  /// qi_submit_sync(): queues `count` descriptors plus a wait descriptor, rings IQT and polls the
  /// wait descriptor's status word. -EINVAL on an invalidation queue error.
  int qi_submit_sync(const qi_desc* desc, unsigned count);
  void qi_flush_context(uint16_t did, uint16_t sid, unsigned fm, unsigned gran);
  void qi_flush_iotlb(uint16_t did, uint64_t addr, unsigned size_order, unsigned gran, bool ih = false);
  /// iommu_flush_iotlb_psi(): page-selective when possible, else domain-selective.
  void flush_iotlb_psi(dmar_domain& d, uint64_t pfn, uint64_t pages, bool ih);

  /// Faults dmar_fault() has serviced.
  uint64_t faults_serviced() const { return faults_serviced_->value(); }

 private:
  uint32_t readl(uint32_t off) { return static_cast<uint32_t>(cpu_.read(base_ + off, 4)); }
  uint64_t readq(uint32_t off) { return cpu_.read(base_ + off, 8); }
  void writel(uint32_t off, uint32_t v) { cpu_.write(base_ + off, 4, v); }
  void writeq(uint32_t off, uint64_t v) { cpu_.write(base_ + off, 8, v); }
  uint64_t load64(uint64_t phys);
  void store(uint64_t phys, const void* src, unsigned len);
  void gcmd_and_wait(uint32_t bit, uint32_t sts, bool set);  // IOMMU_WAIT_OP on GSTS

  // Context entries (iommu.c)
  uint64_t context_addr(uint8_t bus, uint8_t devfn, bool alloc);  // iommu_context_addr
  int context_mapping_one(dmar_domain& d, uint8_t bus, uint8_t devfn);
  void context_clear_one(uint8_t bus, uint8_t devfn);

  // Page tables (pgtable.cpp)
  int domain_mapping(dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t nr_pages, int prot);
  unsigned largepage_caps(const dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t pages) const;
  uint64_t pfn_to_dma_pte(dmar_domain& d, uint64_t pfn, unsigned* target_level, bool alloc);
  void clear_level(dmar_domain& d, unsigned level, uint64_t table, uint64_t pfn, uint64_t start, uint64_t last,
                   std::vector<uint64_t>& freelist);
  void list_pagetables(dmar_domain& d, unsigned level, uint64_t table, std::vector<uint64_t>& freelist);
  void free_pagetables(dmar_domain& d);

  // Faults (qi.cpp)
  void fault_thread();
  void dmar_fault();

  HostPort& cpu_;
  CpuCosts& costs_;
  PageAllocator& pages_;
  InterruptController& irq_;
  uint64_t base_;
  IommuOptions opts_;
  EventLog* events_;
  stats::Group& stats_;
  uint64_t cap_ = 0;
  uint64_t ecap_ = 0;
  unsigned agaw_ = 2;  // largest supported AGAW
  uint32_t gcmd_ = 0;  // what Linux keeps in iommu->gcmd
  uint64_t root_ = 0;  // root table
  uint64_t qi_desc_page_ = 0;
  uint64_t qi_status_page_ = 0;
  unsigned qi_free_head_ = 0;
  unsigned qi_slots_ = 256;
  std::vector<bool> did_used_;
  std::map<uint16_t, uint64_t> context_tables_;  // bus -> context table page
  std::map<std::pair<uint8_t, uint8_t>, dmar_domain*> attached_;  // (bus, devfn) -> domain

  stats::Counter* qi_submits_;
  stats::Counter* qi_polls_;
  stats::Counter* psi_flushes_;
  stats::Counter* dsi_flushes_;
  stats::Counter* faults_serviced_;
  stats::Counter* pte_writes_;
};

}  // namespace vfiosim::kernel
