// Flow-control credits of one type at one receiver (A4.5). A transmitter takes credits before it
// sends a TLP and the receiver gives them back (UpdateFC) once it has drained the TLP. The pool
// is arithmetic: it knows when each taken credit returns, so `acquire` answers "when may I send"
// without scheduling any event. An advertised limit of 0 means infinite credits.
#pragma once

#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

namespace vfiosim::pci {

class CreditPool {
 public:
  explicit CreditPool(uint32_t limit = 0) : limit_(limit) {}

  bool infinite() const { return limit_ == 0; }
  uint32_t limit() const { return limit_; }
  uint64_t in_use() const { return in_use_; }

  /// Takes `n` credits at the earliest time >= `ready_ps` they are free, and returns that time.
  /// Every acquire must be followed by release_at() for the same credits before the next one
  /// (an acquire of 0 credits needs none).
  uint64_t acquire(uint64_t ready_ps, uint32_t n);
  /// The `n` credits taken last come back at `ps`.
  void release_at(uint64_t ps, uint32_t n);

  uint64_t stalls() const { return stalls_; }
  uint64_t stall_ps() const { return stall_ps_; }

 private:
  uint32_t limit_;
  uint64_t in_use_ = 0;
  std::priority_queue<std::pair<uint64_t, uint32_t>, std::vector<std::pair<uint64_t, uint32_t>>, std::greater<>>
      returns_;
  uint64_t stalls_ = 0;
  uint64_t stall_ps_ = 0;
};

}  // namespace vfiosim::pci
