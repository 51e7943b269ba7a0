#include "models/pci/credits.h"

#include <algorithm>

namespace vfiosim::pci {

uint64_t CreditPool::acquire(uint64_t ready_ps, uint32_t n) {
  if (infinite() || n == 0) return ready_ps;
  n = std::min(n, limit_);  // a receiver advertises at least one maximum-size TLP's worth
  uint64_t t = ready_ps;
  // Credits whose return time has passed are free again.
  while (!returns_.empty() && returns_.top().first <= t) {
    in_use_ -= returns_.top().second;
    returns_.pop();
  }
  // Otherwise wait for the earliest returns until enough are free.
  while (in_use_ + n > limit_ && !returns_.empty()) {
    t = std::max(t, returns_.top().first);
    in_use_ -= returns_.top().second;
    returns_.pop();
  }
  if (t > ready_ps) {
    ++stalls_;
    stall_ps_ += t - ready_ps;
  }
  in_use_ += n;
  return t;
}

void CreditPool::release_at(uint64_t ps, uint32_t n) {
  if (infinite() || n == 0) return;
  returns_.emplace(ps, std::min(n, limit_));
}

}  // namespace vfiosim::pci
