// A shared resource that serves one user at a time for a number of its clock cycles (a memory
// data bus, a link's serialiser). Users book it arithmetically: no kernel event is scheduled,
// the booking returns the cycle at which service starts. Bookings must arrive in non-decreasing
// time order (all callers book at the current simulated time), which holds for initiators that
// call at sc_time_stamp() without annotated look-ahead.
#pragma once

#include <algorithm>
#include <cstdint>

namespace vfiosim {

class CycleResource {
 public:
  /// Books `cycles` cycles starting no earlier than `earliest`; returns the start cycle.
  uint64_t reserve(uint64_t earliest, uint64_t cycles) {
    const uint64_t start = std::max(earliest, free_at_);
    free_at_ = start + cycles;
    busy_cycles_ += cycles;
    waited_cycles_ += start - earliest;
    return start;
  }
  uint64_t free_at() const { return free_at_; }
  uint64_t busy_cycles() const { return busy_cycles_; }
  uint64_t waited_cycles() const { return waited_cycles_; }

 private:
  uint64_t free_at_ = 0;
  uint64_t busy_cycles_ = 0;
  uint64_t waited_cycles_ = 0;
};

}  // namespace vfiosim
