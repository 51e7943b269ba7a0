// The IOMMU's translation engine: context cache, IOTLB, paging-structure caches and a pool of page
// walkers, resolving (requester id, IOVA) to a physical address with the time it takes.
//
// Timing is arithmetic, in IOMMU cycles: a lookup costs `lookup_cycles`; an IOTLB miss waits
// `walk_setup_cycles`, takes the walker that frees first (all busy: it queues), probes the
// paging-structure caches once (`pwc_cycles`) and reads the remaining table entries one after the
// other through `TableReader` — real timed memory reads, each `fabric_cycles` each way plus the
// memory's own time — spending `walk_step_cycles` on each. The walk's results fill the caches at
// once with the time they become usable, so a request to a page whose walk is still in flight
// waits for that walk (misses merge) instead of starting another.
//
// What it models: legacy-mode root/context tables, pass-through and multi-level contexts,
// 3/4/5-level second-level tables with 4 KiB, 2 MiB and 1 GiB leaves, R/W permissions (ANDed down
// the walk), reserved-bit and address-width checks, the fault reasons of each failure.
// What it does not model: scalable mode (PASID tables, first-stage), device-TLB / ATS
// translation requests, snoop attributes, interrupt remapping.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "models/iommu/set_assoc_cache.h"
#include "models/iommu/vtd_params.h"
#include "sim/base/clock.h"
#include "sim/stats/group.h"

namespace vfiosim::iommu {

/// Reads `len` bytes of translation structures at `addr`, issued at `t_ps`; returns the
/// picosecond the data is back and false on a memory error.
using TableReader = std::function<bool(uint64_t addr, void* dst, unsigned len, uint64_t t_ps, uint64_t& done_ps)>;

struct TranslateResult {
  bool ok = false;
  uint8_t reason = 0;      // fault reason when !ok
  bool record = true;      // false when the context's FPD suppresses fault recording
  uint64_t addr = 0;       // translated address
  uint64_t done_ps = 0;    // when the translation is known
  bool walked = false;     // a page walk ran for this request
  uint64_t walk_start_ps = 0;
};

struct ContextValue {
  uint16_t did = 0;
  unsigned tt = 0;
  unsigned aw = 0;
  uint64_t slptptr = 0;
  bool fpd = false;
};

struct TlbValue {
  uint64_t frame = 0;  // physical base of the page
  unsigned level = 1;  // 1: 4 KiB, 2: 2 MiB, 3: 1 GiB
  bool read = false;
  bool write = false;
};

struct PwcValue {
  uint64_t table = 0;  // physical address of the next-level table
  bool read = false;
  bool write = false;
};

class Translator {
 public:
  Translator(const VtdParams& params, const ClockDomain& clock, stats::Group& stats, Rng rng, TableReader reader);

  void set_root_table(uint64_t rta) { rta_ = rta; }
  uint64_t root_table() const { return rta_; }

  /// `translated`: the request carries AT = Translated (it bypasses translation only where the
  /// context enables Device-TLBs; otherwise fault reason 0xD).
  TranslateResult translate(uint16_t rid, uint64_t iova, bool write, uint64_t t_ps, bool translated = false);

  // Invalidations (applied at the current simulated time by the invalidation queue).
  size_t invalidate_context_all();
  size_t invalidate_context_domain(uint16_t did);
  size_t invalidate_context_device(uint16_t did, uint16_t sid, unsigned fm);
  size_t invalidate_iotlb_all();
  size_t invalidate_iotlb_domain(uint16_t did);
  /// Page-selective: 2^am 4 KiB pages at `addr` (aligned down to that size); `ih` keeps the
  /// paging-structure caches.
  size_t invalidate_iotlb_pages(uint16_t did, uint64_t addr, unsigned am, bool ih);

  size_t iotlb_valid() const { return iotlb_.valid(); }

 private:
  uint64_t cyc(uint64_t t_ps) const { return clock_.cycle_at_or_after(t_ps); }
  uint64_t ps(uint64_t cycle) const { return clock_.ps_of(cycle); }
  bool context(uint16_t rid, uint64_t& c, ContextValue& out, uint8_t& reason);
  bool read_table(uint64_t addr, void* dst, unsigned len, uint64_t& c);
  TranslateResult walk(const ContextValue& ctx, uint64_t iova, bool write, uint64_t c);
  TranslateResult finish(const TlbValue& v, uint64_t iova, bool write, uint64_t c, bool fpd);
  static uint64_t tlb_key(uint16_t did, uint64_t iova, unsigned level);

  const VtdParams& p_;
  const ClockDomain& clock_;
  TableReader reader_;
  uint64_t rta_ = 0;
  SetAssocCache<ContextValue> ctx_;
  SetAssocCache<TlbValue> iotlb_;
  std::vector<SetAssocCache<PwcValue>> pwc_;  // [0] PDE cache (level-2 entries) ...
  std::vector<uint64_t> walker_free_;          // cycle each walker becomes free
  std::multiset<uint64_t> walks_active_;       // end cycles of walks in flight

  stats::Counter& iotlb_hit_;
  stats::Counter& iotlb_miss_;
  stats::Counter& ctxt_miss_;
  stats::Counter* pwc_miss_[4];
  stats::Counter& mem_read_;
  stats::Counter& walks_;
  stats::Counter& merged_;
  stats::Counter& pass_through_;
  stats::Histogram& walks_in_flight_;
  stats::Histogram& walker_wait_;
  stats::Histogram& walk_latency_;
};

}  // namespace vfiosim::iommu
