// The request loop every DMA-capable model shares: issue a request every `issue_cycles` of the
// model's clock while fewer than `outstanding` are in flight, retire them in completion order,
// check data, and record latency. The model supplies how one request travels (`IssueFn`) and
// the loop blocks its calling SystemC thread only to issue or to retire.
#pragma once

#include <cstdint>
#include <functional>

#include "models/traffic/workload.h"
#include "sim/base/clock.h"
#include "sim/base/rng.h"
#include "sim/base/trace_writer.h"
#include "sim/stats/group.h"

namespace vfiosim {

/// Per-model stats of DMA requests, registered in the model's group.
struct WorkloadStats {
  explicit WorkloadStats(stats::Group& g);
  stats::Counter& requests;
  stats::Counter& bytes;
  stats::Counter& errors;
  stats::Counter& mismatches;
  stats::Histogram& latency;
};

struct IssueOutcome {
  uint64_t done_ps;  // when the request completes (absolute simulated time)
  bool ok;
};
/// Issues one request at the current simulated time: a read fills `buf`, a write sends it.
/// `trace_id` names the request's slice in trace.json (0 without a trace), so models on its path
/// (an IOMMU's walks) can point back to it.
using IssueFn = std::function<IssueOutcome(bool write, uint64_t address, uint8_t* buf, uint64_t len, uint64_t trace_id)>;

struct LoopContext {
  const ClockDomain& clock;
  uint64_t issue_cycles;
  uint64_t max_outstanding;
  Rng rng;
  WorkloadStats& stats;
  TraceWriter* trace = nullptr;
  int track = 0;
};

/// Runs `w` to completion from the calling SystemC thread.
void run_workload(const Workload& w, LoopContext ctx, const IssueFn& issue, WorkloadResult& r);

}  // namespace vfiosim
