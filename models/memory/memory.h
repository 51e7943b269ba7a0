// Host memory: a TLM-2.0 target in front of a sparse 64-bit physical address space.
//
// What it models: one shared data bus of `bytes_per_cycle` at `clock_mhz`; each access occupies
// the bus for ceil(len / bytes_per_cycle) cycles in the first free slot at or after its arrival (gap-filling,
// so a booking for a future time does not hold up one ready now), and completes
// `latency_cycles` after its bus slot ends. Reads and writes move real data; accesses outside the
// space get TLM_ADDRESS_ERROR_RESPONSE and are counted. Debug transport (and the backdoor methods)
// move data without time, for software that charges its time explicitly.
// What it does not model: banks, rows, refresh, read/write turnaround, caches, NUMA.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "models/memory/memory_params.h"
#include "models/memory/sparse_store.h"
#include "sim/base/clock.h"
#include "sim/base/resource.h"
#include "sim/stats/group.h"

namespace vfiosim {

class Memory : public sc_core::sc_module {
 public:
  /// Any number of initiators, none included: a platform with memory and nothing that masters
  /// it (no DMA master, no PCI) is valid.
  tlm_utils::multi_passthrough_target_socket<Memory, 32, tlm::tlm_base_protocol_types, 0,
                                             sc_core::SC_ZERO_OR_MORE_BOUND>
      port;

  Memory(const sc_core::sc_module_name& name, const MemoryParams& params, stats::Group& parent);

  const MemoryParams& params() const { return params_; }
  const ClockDomain& clock() const { return clock_; }
  SparseStore& store() { return store_; }
  const SparseStore& store() const { return store_; }

  /// Untimed access for software that accounts for its own time; false when out of range.
  bool backdoor_read(uint64_t addr, void* dst, uint64_t len) const { return store_.read(addr, dst, len); }
  bool backdoor_write(uint64_t addr, const void* src, uint64_t len) { return store_.write(addr, src, len); }

  /// Updates derived stats (utilisation, pages touched) at the end of a run.
  void finalize(const sc_core::sc_time& end);

 private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
  bool move_data(tlm::tlm_generic_payload& trans);

  MemoryParams params_;
  ClockDomain clock_;
  SparseStore store_;
  GapResource bus_;

  stats::Group& stats_;
  stats::Counter& reads_;
  stats::Counter& writes_;
  stats::Counter& bytes_read_;
  stats::Counter& bytes_written_;
  stats::Counter& address_errors_;
  stats::Histogram& queue_delay_;
  stats::Gauge& utilisation_;
  stats::Gauge& pages_touched_;
};

}  // namespace vfiosim
