#include "vfio/linux/kernel/cpu_cost.h"

#include <systemc>

namespace vfiosim::kernel {

// Values: cycles at the CPU clock, for a Broadwell-class Xeon. They are set so that a strict-mode
// 4 KiB unmap with its synchronous invalidation totals about 2,100 cycles with the hardware time
// the models add (Malka et al., ASPLOS'15 Table 1: 2,127-2,135 cycles); docs/cost-model.md gives the
// breakdown.
const std::vector<CostInfo>& cost_table() {
  static const std::vector<CostInfo> t = {
      {"iommu_map_call", 150, "iommu_map(): checks, iommu_pgsize() and the driver call"},
      {"iommu_map_page", 40, "one leaf PTE written by intel_iommu_map_pages()"},
      {"iommu_unmap_call", 310, "iommu_unmap(): gather set-up and the driver call"},
      {"iommu_unmap_page", 30, "one leaf PTE cleared by dma_pte_clear_range()"},
      {"pgtable_alloc", 250, "alloc_pgtable_page(): a zeroed page from the page allocator"},
      {"pgtable_free", 80, "one page-table page released from the freelist"},
      {"iova_alloc", 200, "alloc_iova_fast() on the per-CPU rcache path"},
      {"iova_free", 120, "free_iova_fast()"},
      {"qi_submit", 790, "qi_submit_sync(): queue lock, descriptors and wait descriptor built"},
      {"qi_poll", 20, "one iteration of qi_submit_sync()'s status poll (besides its loads)"},
      {"flush_queue_add", 90, "queue_iova(): one entry onto the flush queue"},
      {"flush_queue_flush", 300, "fq_flush_iotlb() and fq_ring_free() per flush"},
      {"context_write", 400, "domain_context_mapping_one(): locks and the context entry"},
      {"dma_map_call", 120, "iommu_dma_map_page(): DMA API entry"},
      {"dma_unmap_call", 120, "iommu_dma_unmap_page(): DMA API entry"},
      {"fault_handler", 600, "dmar_fault(): one fault record read, logged and cleared"},
      {"syscall_entry", 250, "entering and leaving the kernel for one system call"},
      {"pin_user_page", 120, "pin_user_pages_remote() per page: the page-table walk and FOLL_LONGTERM bookkeeping"},
      {"pin_user_huge_subpage", 12, "pin_user_pages_remote() per 4 KiB subpage of a hugetlb page (one walk per 2 MiB)"},
      {"unpin_user_page", 60, "unpin_user_page() per page"},
      {"vfio_dma_entry", 300, "type1: a vfio_dma allocated or freed with its rb-tree update"},
  };
  return t;
}

CpuCosts::CpuCosts(uint64_t clock_mhz, const std::map<std::string, uint64_t>& overrides, stats::Group& parent)
    : clock_("cpu.clk", clock_mhz * 1000000ULL) {
  configure(clock_mhz, overrides);
  charged_ = &parent.counter("charged_cycles", "cycles", "CPU cycles kernel code charged from the cost table");
}

void CpuCosts::configure(uint64_t clock_mhz, const std::map<std::string, uint64_t>& overrides) {
  clock_ = ClockDomain("cpu.clk", clock_mhz * 1000000ULL);
  cycles_.clear();
  for (const auto& c : cost_table()) {
    auto it = overrides.find(c.name);
    cycles_.push_back(it == overrides.end() ? c.cycles : it->second);
  }
}

void CpuCosts::charge(Cost c, uint64_t n) { spend(cycles(c) * n); }

void CpuCosts::spend(uint64_t cycles) {
  *charged_ += cycles;
  const uint64_t start = clock_.cycle_at_or_after(sc_core::sc_time_stamp());
  const sc_core::sc_time until = clock_.time_of(start + cycles);
  if (until > sc_core::sc_time_stamp()) sc_core::wait(until - sc_core::sc_time_stamp());
}

}  // namespace vfiosim::kernel
