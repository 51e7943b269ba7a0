// Fault injection (lib/fault-inject.c with failslab's per-site attributes): a named call site asks
// should_fail() before an allocation that can fail, and a test arms the site to fail its nth next
// call (and `times` - 1 more). Like the kernel's debugfs attributes the table is global to the
// process; FaultInjection::reset() clears it. What it does not model: probability, interval and
// task filters, stack-trace filters.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace vfiosim::kernel {

struct fault_attr {
  uint64_t nth = 0;    // calls left until the first failure (1: the next call); 0: disarmed
  uint64_t times = 0;  // failures left once it triggers
  uint64_t calls = 0;  // calls seen
  uint64_t failed = 0; // failures injected
};

class FaultInjection {
 public:
  static FaultInjection& instance();
  /// Arm `site` to fail its `nth` next call (1 = the next) and the `times` - 1 calls after it.
  void arm(const std::string& site, uint64_t nth, uint64_t times = 1);
  void reset() { sites_.clear(); }
  /// should_fail(): counts the call; true when the site is armed and its turn has come.
  bool should_fail(const std::string& site);
  const fault_attr* find(const std::string& site) const;

 private:
  std::map<std::string, fault_attr> sites_;
};

/// The sites the port asks (one per allocation the kernel can fail there).
namespace fault_site {
inline constexpr const char* kVfioGroupAlloc = "vfio_group_alloc";            // vfio_group_alloc() kzalloc
inline constexpr const char* kVfioDmaBitmapAlloc = "vfio_dma_bitmap_alloc";   // type1 dirty bitmap kvzalloc
inline constexpr const char* kVfioContainerAlloc = "vfio_container_alloc";    // vfio_fops_open() kzalloc
inline constexpr const char* kVfioDmaAlloc = "vfio_dma_alloc";                // vfio_dma_do_map() kzalloc
inline constexpr const char* kVfioOpenDevice = "vfio_open_device";            // the driver's open_device: -ENOMEM
}  // namespace fault_site

/// Every site above, for scenarios to name.
const char* const* fault_sites(size_t* count);

inline bool should_fail(const char* site) { return FaultInjection::instance().should_fail(site); }

}  // namespace vfiosim::kernel
