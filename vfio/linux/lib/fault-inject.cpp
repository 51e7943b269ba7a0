#include "vfio/linux/lib/fault-inject.h"

namespace vfiosim::kernel {

FaultInjection& FaultInjection::instance() {
  static FaultInjection f;
  return f;
}

void FaultInjection::arm(const std::string& site, uint64_t nth, uint64_t times) {
  fault_attr& a = sites_[site];
  a.nth = nth;
  a.times = times;
}

bool FaultInjection::should_fail(const std::string& site) {
  auto it = sites_.find(site);
  if (it == sites_.end()) return false;
  fault_attr& a = it->second;
  ++a.calls;
  if (!a.nth) return false;
  if (a.nth > 1) {
    --a.nth;
    return false;
  }
  ++a.failed;
  if (--a.times == 0) a.nth = 0;  // spent
  return true;
}

const fault_attr* FaultInjection::find(const std::string& site) const {
  auto it = sites_.find(site);
  return it == sites_.end() ? nullptr : &it->second;
}

const char* const* fault_sites(size_t* count) {
  static const char* const sites[] = {fault_site::kVfioGroupAlloc, fault_site::kVfioDmaBitmapAlloc,
                                      fault_site::kVfioContainerAlloc, fault_site::kVfioDmaAlloc,
                                      fault_site::kVfioOpenDevice};
  *count = sizeof sites / sizeof sites[0];
  return sites;
}

}  // namespace vfiosim::kernel
