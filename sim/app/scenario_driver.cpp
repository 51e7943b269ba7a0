#include "sim/app/scenario_driver.h"

#include "sim/app/expect.h"
#include "sim/app/platform.h"
#include "sim/base/clock.h"
#include "sim/base/log.h"
#include "sim/base/trace_writer.h"

namespace vfiosim {

ScenarioDriver::ScenarioDriver(const sc_core::sc_module_name& name, const Scenario& scenario, Platform& platform,
                               TraceWriter* trace)
    : sc_module(name),
      scenario_(scenario),
      platform_(platform),
      trace_(trace),
      records_(scenario.steps.size()),
      order_rng_(Rng::stream(scenario.seed, "userspace.order")),
      nprocs_(scenario.processes().size()) {
  if (trace_) track_ = trace_->track("userspace");
  for (const auto& process : scenario_.processes()) {
    sc_core::sc_spawn_options opts;
    sc_core::sc_spawn([this, process] { run_process(process); }, ("process_" + process).c_str(), &opts);
  }
}

bool ScenarioDriver::all_finished() const {
  for (const auto& r : records_)
    if (!r.finished) return false;
  return true;
}

std::vector<std::string> ScenarioDriver::running_steps() const {
  std::vector<std::string> out;
  for (const auto& s : scenario_.steps) {
    const StepRecord& r = records_[s.index];
    if (r.started && !r.finished) out.push_back(s.pointer + " (" + s.name + ", process " + s.process + ")");
  }
  return out;
}

void ScenarioDriver::run_process(const std::string& process) {
  platform_.wait_until_booted();
  for (const auto& step : scenario_.steps) {
    if (step.process != process) continue;
    // Steps of several processes that become ready at the same simulated time start in an order
    // the seed chooses: each waits a seeded number of delta cycles (none with one process).
    for (uint64_t k = order_rng_.below(nprocs_); k; --k) sc_core::wait(sc_core::SC_ZERO_TIME);
    run_step(step);
  }
  platform_.exit_process(process);  // exit(): every descriptor the process still holds is closed
  if (++processes_done_ == scenario_.processes().size()) platform_.shutdown();
}

void ScenarioDriver::run_step(const PreparedStep& step) {
  StepRecord& rec = records_[step.index];
  rec.started = true;
  rec.start_ps = ClockDomain::to_ps(sc_core::sc_time_stamp());
  log::debug("step " + step.name + " (" + step.op + ") starts at " + std::to_string(rec.start_ps) + " ps");
  uint64_t trace_id = 0;
  if (trace_) {
    trace_id = trace_->next_id();
    trace_->async_begin(track_, "step", step.name, trace_id, rec.start_ps, {{"op", step.op}, {"process", step.process}});
  }

  StepContext ctx{platform_, scenario_.seed, trace_, step.index, step.name, nlohmann::json::object(), &results_,
                 step.process, &names_[step.process]};
  try {
    step.step->run(ctx);
  } catch (const StepError& e) {
    rec.error = e.what();
    log::warn("step " + step.name + " (" + step.pointer + "): " + rec.error);
  }

  rec.end_ps = ClockDomain::to_ps(sc_core::sc_time_stamp());
  rec.outputs = std::move(ctx.outputs);
  rec.finished = true;
  if (trace_) trace_->async_end(track_, "step", step.name, trace_id, rec.end_ps);

  for (auto it = step.expect.begin(); it != step.expect.end(); ++it) {
    const auto actual = rec.outputs.contains(it.key()) ? rec.outputs[it.key()] : nlohmann::json();
    const auto outcome = evaluate_expectation(it.key(), actual, it.value());
    rec.expectations.push_back({{"output", it.key()},
                                {"expected", it.value()},
                                {"actual", actual},
                                {"pass", outcome.pass},
                                {"message", outcome.message}});
    if (!outcome.pass) {
      rec.expectations_pass = false;
      log::warn("step " + step.name + " (" + step.pointer + "): " + outcome.message);
    }
  }
}

}  // namespace vfiosim
