#include "models/traffic/dma_master.h"

#include <queue>
#include <vector>

namespace vfiosim {

DmaMaster::DmaMaster(const sc_core::sc_module_name& name, const DmaMasterParams& params, stats::Group& parent,
                     uint64_t seed, TraceWriter* trace)
    : sc_module(name),
      port("port"),
      params_(params),
      clock_(std::string(this->name()) + ".clk", params.clock_mhz * 1000000ULL),
      seed_(seed),
      trace_(trace),
      stats_(parent.child(basename())),
      requests_(stats_.counter("requests", "requests", "Requests completed")),
      bytes_(stats_.counter("bytes", "bytes", "Payload bytes moved by successful requests")),
      errors_(stats_.counter("errors", "requests", "Requests completed with an error response")),
      mismatches_(stats_.counter("data_mismatches", "bytes", "Bytes read back that differ from the pattern")),
      latency_(stats_.histogram("latency", "ns", "Request latency from issue to completion", 1e-3)) {
  if (trace_) track_ = trace_->track(this->name());
  SC_HAS_PROCESS(DmaMaster);
  SC_THREAD(engine);
}

WorkloadResult DmaMaster::run(const Workload& w) {
  Job job(w);
  queue_.push_back(&job);
  kick_.notify(sc_core::SC_ZERO_TIME);
  sc_core::wait(job.done);
  return job.result;
}

void DmaMaster::engine() {
  for (;;) {
    while (queue_.empty()) sc_core::wait(kick_);
    Job* job = queue_.front();
    execute(*job->work, job->result);
    queue_.pop_front();
    job->done.notify(sc_core::SC_ZERO_TIME);
  }
}

void DmaMaster::execute(const Workload& w, WorkloadResult& r) {
  struct InFlight {
    uint64_t done_ps;
    uint64_t issue_ps;
    uint64_t trace_id;
    uint64_t seq;
    bool operator>(const InFlight& o) const { return done_ps != o.done_ps ? done_ps > o.done_ps : seq > o.seq; }
  };
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> inflight;
  AddressGenerator addresses(w, Rng::stream(seed_, name()));
  std::vector<uint8_t> buf(w.size);
  tlm::tlm_generic_payload trans;
  const uint64_t limit = std::min(w.outstanding, params_.max_outstanding);
  const char* op = to_string(w.direction);

  auto now_ps = [] { return ClockDomain::to_ps(sc_core::sc_time_stamp()); };
  uint64_t next_issue = clock_.ps_of(clock_.cycle_at_or_after(now_ps()));
  uint64_t issued = 0;
  r.first_issue_ps = next_issue;
  r.last_done_ps = next_issue;

  while (r.requests < w.count) {
    const bool can_issue = issued < w.count && inflight.size() < limit;
    // Retire first whatever completes no later than the next issue slot.
    if (!inflight.empty() && (!can_issue || inflight.top().done_ps <= next_issue)) {
      const InFlight done = inflight.top();
      if (done.done_ps > now_ps()) sc_core::wait(ClockDomain::to_time(done.done_ps - now_ps()));
      inflight.pop();
      ++r.requests;
      r.latency_ps.sample(done.done_ps - done.issue_ps);
      latency_.sample(done.done_ps - done.issue_ps);
      ++requests_;
      r.last_done_ps = std::max(r.last_done_ps, done.done_ps);
      if (trace_) trace_->async_end(track_, "dma", op, done.trace_id, done.done_ps);
      if (done.done_ps > next_issue) next_issue = clock_.ps_of(clock_.cycle_at_or_after(done.done_ps));
      continue;
    }
    if (next_issue > now_ps()) sc_core::wait(ClockDomain::to_time(next_issue - now_ps()));

    const uint64_t addr = addresses.next();
    if (w.direction == DmaDirection::Write) fill_pattern(addr, w.data_seed, buf.data(), w.size);
    trans.set_command(w.direction == DmaDirection::Write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans.set_address(addr);
    trans.set_data_ptr(buf.data());
    trans.set_data_length(static_cast<unsigned>(w.size));
    trans.set_streaming_width(static_cast<unsigned>(w.size));
    trans.set_byte_enable_ptr(nullptr);
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    port->b_transport(trans, delay);

    const uint64_t issue_ps = now_ps();
    if (trans.is_response_ok()) {
      r.bytes += w.size;
      bytes_ += w.size;
      if (w.direction == DmaDirection::Read && w.verify) {
        const uint64_t bad = count_mismatches(addr, w.data_seed, buf.data(), w.size);
        r.mismatches += bad;
        mismatches_ += bad;
      }
    } else {
      ++r.errors;
      ++errors_;
    }
    uint64_t trace_id = 0;
    if (trace_) {
      trace_id = trace_->next_id();
      trace_->async_begin(track_, "dma", op, trace_id, issue_ps,
                          {{"address", addr}, {"size", w.size}, {"ok", trans.is_response_ok()}});
    }
    inflight.push({issue_ps + ClockDomain::to_ps(delay), issue_ps, trace_id, issued});
    ++issued;
    next_issue = clock_.ps_of(clock_.cycle_at_or_after(issue_ps) + params_.issue_cycles);
  }
}

}  // namespace vfiosim
