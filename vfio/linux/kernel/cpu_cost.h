// The software cost model: kernel code running in a simulated thread charges CPU cycles for the
// work it does, from one documented table (docs/cost-model.md), at the CPU's clock. Hardware
// traffic the code causes (MMIO, memory loads, the IOMMU's own work) is not in the table: it costs
// what the models say it costs. Each simulated thread is its own CPU (no run-queue contention).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/base/clock.h"
#include "sim/stats/group.h"

namespace vfiosim::kernel {

enum class Cost {
  IommuMapCall,      // iommu_map(): argument checks, page-size selection, the ops call
  IommuMapPage,      // one leaf PTE: pfn_to_dma_pte() walk of the CPU's view and the store
  IommuUnmapCall,    // iommu_unmap(): gather set-up, the ops call
  IommuUnmapPage,    // one leaf PTE cleared (dma_pte_clear_range inner loop)
  PgtableAlloc,      // allocating a zeroed page-table page (alloc_pgtable_page)
  PgtableFree,       // freeing one page-table page from the freelist
  IovaAlloc,         // alloc_iova_fast() (rcache hit path)
  IovaFree,          // free_iova_fast()
  QiSubmit,          // qi_submit_sync(): queue lock, building descriptors and the wait descriptor
  QiPoll,            // one iteration of the status poll loop (besides its loads)
  FlushQueueAdd,     // queue_iova(): one entry onto the per-CPU flush queue
  FlushQueueFlush,   // fq_flush_iotlb() + fq_ring_free() bookkeeping per flush
  ContextWrite,      // domain_context_mapping_one(): locking and building the context entry
  DmaMapCall,        // iommu_dma_map_page(): DMA API entry, direction checks
  DmaUnmapCall,      // iommu_dma_unmap_page()
  FaultHandler,      // dmar_fault(): per fault record serviced
  SyscallEntry,      // entering and leaving the kernel for one system call
  PinUserPage,       // pin_user_pages_remote() per page (GUP walk, FOLL_LONGTERM bookkeeping)
  PinUserHugePage,   // the same per 4 KiB subpage of a hugetlb page (one walk per 2 MiB)
  UnpinUserPage,     // unpin_user_page() per page
  VfioDmaEntry,      // type1: a vfio_dma allocated or freed with its rb-tree update
  kCount
};

struct CostInfo {
  const char* name;
  uint64_t cycles;
  const char* desc;
};

/// The default table (cycles at the CPU clock).
const std::vector<CostInfo>& cost_table();

class CpuCosts {
 public:
  /// `overrides`: cost name -> cycles. Unknown names are the caller's to reject (validation).
  CpuCosts(uint64_t clock_mhz, const std::map<std::string, uint64_t>& overrides, stats::Group& parent);

  /// Replaces the clock and the overrides (before simulation starts).
  void configure(uint64_t clock_mhz, const std::map<std::string, uint64_t>& overrides);

  uint64_t cycles(Cost c) const { return cycles_[static_cast<size_t>(c)]; }
  const ClockDomain& clock() const { return clock_; }

  /// Blocks the calling simulated thread for `n` times the cost of `c`, ending on a CPU cycle
  /// boundary.
  void charge(Cost c, uint64_t n = 1);
  /// Blocks for a number of CPU cycles that is not in the table (a caller-computed amount).
  void spend(uint64_t cycles);

  uint64_t charged_cycles() const { return charged_->value(); }

 private:
  ClockDomain clock_;
  std::vector<uint64_t> cycles_;
  stats::Counter* charged_;
};

}  // namespace vfiosim::kernel
