// Shared resources that serve one user at a time for a number of their clock cycles (a memory
// data bus, a page walker). Users book them arithmetically: no kernel event is scheduled, a booking
// returns the cycle at which service starts.
//
// CycleResource books in arrival order ("busy until"): right when every booking arrives in
// non-decreasing time order. GapResource keeps its busy intervals and places each booking in the
// first gap at or after its earliest start, so a booking made for a time in the future (a page-table
// read a walk will make after a memory access, a completion) never holds up a user that is ready
// now. With bookings in time order the two give identical results.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>

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

class GapResource {
 public:
  /// Books `cycles` cycles in the first free gap that starts at or after `earliest`; returns the
  /// start cycle. Intervals that ended before `now` (the caller's current cycle) are forgotten —
  /// at once on a booking into a gap, lazily (past 32 intervals) on an append after all of them.
  uint64_t reserve(uint64_t earliest, uint64_t cycles, uint64_t now) {
    if (busy_.empty() || earliest >= busy_.rbegin()->second) {  // after every booking: append
      if (!busy_.empty() && busy_.rbegin()->second == earliest) busy_.rbegin()->second += cycles;
      else busy_.emplace_hint(busy_.end(), earliest, earliest + cycles);
      if (busy_.size() > kPruneAbove) prune(now);
      busy_cycles_ += cycles;
      return earliest;
    }
    prune(now);
    uint64_t start = earliest;
    auto it = busy_.upper_bound(start);
    if (it != busy_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > start) start = prev->second;
    }
    while (it != busy_.end() && it->first < start + cycles) {
      start = std::max(start, it->second);
      ++it;
    }
    insert(start, start + cycles);
    busy_cycles_ += cycles;
    waited_cycles_ += start - earliest;
    return start;
  }
  uint64_t busy_cycles() const { return busy_cycles_; }
  uint64_t waited_cycles() const { return waited_cycles_; }
  size_t intervals() const { return busy_.size(); }

 private:
  void insert(uint64_t s, uint64_t e) {
    auto it = busy_.lower_bound(s);
    if (it != busy_.begin()) {  // merge with a predecessor ending exactly at s
      auto prev = std::prev(it);
      if (prev->second == s) {
        s = prev->first;
        busy_.erase(prev);
      }
    }
    if (it != busy_.end() && it->first == e) {  // and a successor starting at e
      e = it->second;
      busy_.erase(it);
    }
    busy_[s] = e;
  }
  void prune(uint64_t now) {
    while (!busy_.empty() && busy_.begin()->second < now) busy_.erase(busy_.begin());
  }

  static constexpr size_t kPruneAbove = 32;  // the append path prunes only now and then
  std::map<uint64_t, uint64_t> busy_;  // start -> end (exclusive), disjoint
  uint64_t busy_cycles_ = 0;
  uint64_t waited_cycles_ = 0;
};

}  // namespace vfiosim
