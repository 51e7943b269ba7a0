#include "models/traffic/dma_master.h"

#include "sim/base/tlm_util.h"


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
      wstats_(stats_) {
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
    tlm::tlm_generic_payload trans;
    const IssueFn issue = [&](bool write, uint64_t addr, uint8_t* buf, uint64_t len, uint64_t) {
      setup_payload(trans, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, addr, buf,
                    static_cast<unsigned>(len));
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      port->b_transport(trans, delay);
      return IssueOutcome{ClockDomain::to_ps(sc_core::sc_time_stamp() + delay), trans.is_response_ok()};
    };
    run_workload(*job->work,
                 LoopContext{clock_, params_.issue_cycles, params_.max_outstanding, Rng::stream(seed_, name()), wstats_,
                             trace_, track_},
                 issue, job->result);
    queue_.pop_front();
    job->done.notify(sc_core::SC_ZERO_TIME);
  }
}

}  // namespace vfiosim
