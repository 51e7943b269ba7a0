#include "vfio/linux/mm/page_alloc.h"

#include <algorithm>

namespace vfiosim::kernel {

PageAllocator::PageAllocator(HostPort& cpu, CpuCosts& costs, uint64_t base, uint64_t size, stats::Group& s)
    : cpu_(cpu),
      costs_(costs),
      base_(base),
      size_(size),
      allocs_(s.counter("pages_allocated", "pages", "Kernel pages allocated (page tables, queues)")),
      frees_(s.counter("pages_freed", "pages", "Kernel pages freed")),
      peak_(s.gauge("pages_peak", "pages", "Most kernel pages in use at once")) {}

uint64_t PageAllocator::alloc_zeroed_page() {
  uint64_t page = 0;
  if (!free_.empty()) {
    page = *free_.begin();
    free_.erase(free_.begin());
  } else if (next_ + 4096 <= size_) {
    page = base_ + next_;
    next_ += 4096;
  } else {
    return 0;
  }
  ++allocs_;
  ++in_use_;
  peak_.set(std::max(peak_.value(), static_cast<double>(in_use_)));
  costs_.charge(Cost::PgtableAlloc);
  static const uint8_t zeros[4096] = {};
  cpu_.mem_write(page, zeros, sizeof zeros);
  return page;
}

void PageAllocator::free_page(uint64_t phys) {
  if (!phys) return;
  ++frees_;
  --in_use_;
  free_.insert(phys);
}

}  // namespace vfiosim::kernel
