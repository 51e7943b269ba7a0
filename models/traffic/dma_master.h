// A host-side DMA master: a traffic generator that issues TLM-2.0 reads and writes.
//
// What it models: one request issued every `issue_cycles` of its clock while fewer than the
// workload's `outstanding` are in flight; requests carry real data (a seeded pattern) and reads
// can verify it; per-request latency from issue to completion. It waits on SystemC time only to
// issue or to retire, so a request costs about one kernel wake-up.
// What it does not model: an interconnect between it and memory, address translation, ordering
// rules beyond "retire in completion order". Data moves when the request is issued; timing comes
// from the target's annotated delay.
#pragma once

#include <deque>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/traffic/dma_master_params.h"
#include "models/traffic/workload.h"
#include "models/traffic/workload_loop.h"
#include "sim/base/clock.h"
#include "sim/base/trace_writer.h"
#include "sim/stats/group.h"

namespace vfiosim {

class DmaMaster : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<DmaMaster> port;

  DmaMaster(const sc_core::sc_module_name& name, const DmaMasterParams& params, stats::Group& parent,
            uint64_t seed, TraceWriter* trace);

  const DmaMasterParams& params() const { return params_; }
  const ClockDomain& clock() const { return clock_; }

  /// Runs a workload to completion and returns what it measured. Call from a SystemC thread; only
  /// that thread blocks. Jobs from several callers are served one after another in call order.
  WorkloadResult run(const Workload& w);

 private:
  struct Job {
    explicit Job(const Workload& w) : work(&w) {}
    const Workload* work;
    WorkloadResult result;
    sc_core::sc_event done;
  };
  void engine();

  DmaMasterParams params_;
  ClockDomain clock_;
  uint64_t seed_;
  TraceWriter* trace_;
  int track_ = 0;
  std::deque<Job*> queue_;
  sc_core::sc_event kick_;

  stats::Group& stats_;
  WorkloadStats wstats_;
};

}  // namespace vfiosim
