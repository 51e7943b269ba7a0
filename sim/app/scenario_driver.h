// The simulated userspace of a scenario: one SystemC thread per scenario process, each running
// its steps in order and recording when each started and ended, its outputs and its step-level
// expectations.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/base/rng.h"

#include <systemc>
#include <nlohmann/json.hpp>

#include "sim/app/scenario.h"

namespace vfiosim {

class Platform;
class TraceWriter;

struct StepRecord {
  bool started = false;
  bool finished = false;
  uint64_t start_ps = 0;
  uint64_t end_ps = 0;
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json expectations = nlohmann::json::array();
  bool expectations_pass = true;
  std::string error;  // the step could not do its job (e.g. device not bound); the run goes on
};

class ScenarioDriver : public sc_core::sc_module {
 public:
  ScenarioDriver(const sc_core::sc_module_name& name, const Scenario& scenario, Platform& platform,
                 TraceWriter* trace);

  const std::vector<StepRecord>& records() const { return records_; }
  const std::vector<nlohmann::json>& results() const { return results_; }
  bool all_finished() const;
  /// The steps started and not finished, as "<pointer> (<name>, process <p>)".
  std::vector<std::string> running_steps() const;

 private:
  void run_process(const std::string& process);
  void run_step(const PreparedStep& step);

  const Scenario& scenario_;
  Platform& platform_;
  TraceWriter* trace_;
  int track_ = 0;
  std::vector<StepRecord> records_;
  std::vector<nlohmann::json> results_;
  /// Names the scenario gave to descriptors and buffers, per process ("container" -> 3): the
  /// program's variables, which live in userspace, not in the kernel.
  std::map<std::string, std::map<std::string, int64_t>> names_;
  size_t processes_done_ = 0;
  Rng order_rng_;  // permutes steps of different processes that are ready at the same time
  size_t nprocs_ = 1;
};

}  // namespace vfiosim
