// Queued invalidation (VT-d 6.5.2): a ring of 128-bit descriptors in memory (IQA: base and size
// 2^QS pages), a head the hardware advances (IQH) and a tail software writes (IQT). Writing IQT
// wakes the queue's thread, which fetches each descriptor with a timed memory read, spends
// `qi_desc_cycles` on it and applies it at that simulated time: context-cache (global, domain,
// device), IOTLB (global, domain, page-selective with address mask; PSI falls back to domain when
// unsupported or the mask is too large), device-TLB (counted: endpoints have no ATC yet) and
// invalidation wait (status write to memory and/or an interrupt through IECTL/IEDATA/IEADDR).
// Translations computed before a descriptor is applied used the old state; none computed after a
// wait descriptor completes sees an entry the descriptors before it invalidated. An unknown
// descriptor type sets FSTS.IQE and stops the queue at that descriptor until software clears IQE.
#pragma once

#include <cstdint>
#include <functional>

#include "models/iommu/translator.h"
#include "sim/stats/group.h"

namespace vfiosim::iommu {

struct QueueOps {
  /// Timed memory accesses of the queue's thread (they block it until done); false on error.
  std::function<bool(uint64_t addr, void* dst, unsigned len)> read;
  std::function<bool(uint64_t addr, const void* src, unsigned len)> write;
  /// Waits `cycles` IOMMU cycles.
  std::function<void(uint64_t cycles)> delay;
  /// Raises the invalidation-event interrupt at the current time.
  std::function<void(uint64_t addr, uint32_t data)> interrupt;
  /// Reports a queue error (the unit raises its fault event).
  std::function<void()> error;
};

class InvalidationQueue {
 public:
  InvalidationQueue(const VtdParams& params, Translator& xlat, stats::Group& stats, QueueOps ops);

  // Registers
  uint64_t iqa = 0;
  uint64_t iqh = 0;
  uint64_t iqt = 0;
  uint32_t ics = 0;
  uint32_t iectl = 1u << 31;  // IM at reset
  uint32_t iedata = 0;
  uint64_t ieaddr = 0;
  bool enabled = false;
  bool iqe = false;  // FSTS.IQE

  void write_ics(uint32_t v);
  void write_iectl(uint32_t v);

  /// True when descriptors are waiting and the queue may run.
  bool runnable() const { return enabled && !iqe && iqh != iqt; }
  /// Processes descriptors until the queue is empty or stopped (in the queue's thread).
  void drain();

 private:
  void process(uint64_t lo, uint64_t hi);
  uint64_t slots() const;
  void iwc_interrupt();

  const VtdParams& p_;
  Translator& xlat_;
  QueueOps ops_;
  bool iwc_pending_ = false;
  stats::Counter& descriptors_;
  stats::Counter& inv_cc_global_;
  stats::Counter& inv_cc_domain_;
  stats::Counter& inv_cc_device_;
  stats::Counter& inv_iotlb_global_;
  stats::Counter& inv_iotlb_domain_;
  stats::Counter& inv_iotlb_page_;
  stats::Counter& inv_devtlb_;
  stats::Counter& inv_wait_;
  stats::Counter& entries_dropped_;
  stats::Counter& errors_;
};

}  // namespace vfiosim::iommu
