// The kernel's page allocator for its own data structures in simulated memory (IOMMU root,
// context and page tables, invalidation queues): 4 KiB pages from a physical region reserved for
// the kernel (the top of host memory), lowest free page first so runs are reproducible. A zeroed
// page is cleared with real stores (__GFP_ZERO), which take the memory bus like any other.
#pragma once

#include <cstdint>
#include <set>

#include "models/cpu/host_port.h"
#include "vfio/linux/kernel/cpu_cost.h"

namespace vfiosim::kernel {

class PageAllocator {
 public:
  PageAllocator(HostPort& cpu, CpuCosts& costs, uint64_t base, uint64_t size, stats::Group& stats);

  /// A zeroed 4 KiB page (physical address), or 0 when the region is exhausted.
  uint64_t alloc_zeroed_page();
  void free_page(uint64_t phys);

  uint64_t pages_in_use() const { return in_use_; }
  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  HostPort& cpu_;
  CpuCosts& costs_;
  uint64_t base_;
  uint64_t size_;
  uint64_t next_ = 0;         // pages below next_ have been handed out at least once
  std::set<uint64_t> free_;   // freed pages, reused lowest first
  uint64_t in_use_ = 0;
  stats::Counter& allocs_;
  stats::Counter& frees_;
  stats::Gauge& peak_;
};

}  // namespace vfiosim::kernel
