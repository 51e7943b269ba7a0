#include "models/traffic/workload_loop.h"

#include <queue>
#include <vector>

namespace vfiosim {

WorkloadStats::WorkloadStats(stats::Group& g)
    : requests(g.counter("requests", "requests", "Requests completed")),
      bytes(g.counter("bytes", "bytes", "Payload bytes moved by successful requests")),
      errors(g.counter("errors", "requests", "Requests completed with an error response")),
      mismatches(g.counter("data_mismatches", "bytes", "Bytes read back that differ from the pattern")),
      latency(g.histogram("latency", "ns", "Request latency from issue to completion", 1e-3)) {}

void run_workload(const Workload& w, LoopContext ctx, const IssueFn& issue, WorkloadResult& r) {
  struct InFlight {
    uint64_t done_ps;
    uint64_t issue_ps;
    uint64_t trace_id;
    uint64_t seq;
    bool operator>(const InFlight& o) const { return done_ps != o.done_ps ? done_ps > o.done_ps : seq > o.seq; }
  };
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> inflight;
  AddressGenerator addresses(w, ctx.rng);
  std::vector<uint8_t> buf(w.size);
  const uint64_t limit = std::max<uint64_t>(1, std::min(w.outstanding, ctx.max_outstanding));
  const bool write = w.direction == DmaDirection::Write;
  const char* op = to_string(w.direction);
  const ClockDomain& clk = ctx.clock;

  auto now_ps = [] { return ClockDomain::to_ps(sc_core::sc_time_stamp()); };
  uint64_t next_issue = clk.ps_of(clk.cycle_at_or_after(now_ps()));
  uint64_t issued = 0;
  r.first_issue_ps = next_issue;
  r.last_done_ps = next_issue;

  // Latencies of this job; the result and the component's histogram take them in one merge at
  // the end (a per-sample insert into both costs as much as the model step).
  stats::Distribution latency;
  while (r.requests < w.count) {
    const bool can_issue = issued < w.count && inflight.size() < limit;
    // Retire first whatever completes no later than the next issue slot.
    if (!inflight.empty() && (!can_issue || inflight.top().done_ps <= next_issue)) {
      const InFlight done = inflight.top();
      if (done.done_ps > now_ps()) sc_core::wait(ClockDomain::to_time(done.done_ps - now_ps()));
      inflight.pop();
      ++r.requests;
      ++ctx.stats.requests;
      latency.sample(done.done_ps - done.issue_ps);
      r.last_done_ps = std::max(r.last_done_ps, done.done_ps);
      if (ctx.trace) ctx.trace->async_end(ctx.track, "dma", op, done.trace_id, done.done_ps);
      if (done.done_ps > next_issue) next_issue = clk.ps_of(clk.cycle_at_or_after(done.done_ps));
      continue;
    }
    if (next_issue > now_ps()) sc_core::wait(ClockDomain::to_time(next_issue - now_ps()));

    const uint64_t addr = addresses.next();
    if (write) fill_pattern(w.pattern_of(addr), w.data_seed, buf.data(), w.size);
    const uint64_t issue_ps = now_ps();
    const uint64_t trace_id = ctx.trace ? ctx.trace->next_id() : 0;
    const IssueOutcome out = issue(write, addr, buf.data(), w.size, trace_id);
    if (out.ok) {
      r.bytes += w.size;
      ctx.stats.bytes += w.size;
      if (!write && w.verify) {
        const uint64_t bad = count_mismatches(w.pattern_of(addr), w.data_seed, buf.data(), w.size);
        r.mismatches += bad;
        ctx.stats.mismatches += bad;
      }
    } else {
      ++r.errors;
      ++ctx.stats.errors;
    }
    if (ctx.trace) {
      ctx.trace->async_begin(ctx.track, "dma", op, trace_id, issue_ps,
                             {{"address", addr}, {"size", w.size}, {"ok", out.ok}});
    }
    inflight.push({std::max(out.done_ps, issue_ps), issue_ps, trace_id, issued});
    ++issued;
    next_issue = clk.ps_of(clk.cycle_at_or_after(issue_ps) + ctx.issue_cycles);
  }
  r.latency_ps.merge(latency);
  ctx.stats.latency.dist().merge(latency);
}

}  // namespace vfiosim
