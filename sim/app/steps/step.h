// Scenario steps: the operations userspace performs. Each op is a StepType — its input fields,
// its named outputs (which step-level "expect" may check), and a `prepare` function that turns a
// resolved step into an executable Step, checking everything it can before simulation starts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/app/platform_config.h"
#include "sim/config/spec.h"

namespace vfiosim {

class Platform;
class TraceWriter;

/// What a running step may touch.
struct StepContext {
  Platform& platform;
  uint64_t seed;
  TraceWriter* trace;
  size_t step_index;
  std::string step_name;
  nlohmann::json outputs = nlohmann::json::object();  // filled by the step
  std::vector<nlohmann::json>* results;               // workload table rows
  std::string process = "main";                        // the simulated process the step runs in
  std::map<std::string, int64_t>* names = nullptr;     // what the scenario named in that process
};

/// A step could not do what it was asked (a device is not bound to the driver it needs, ...):
/// recorded as the step's error; the run goes on and fails.
class StepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Step {
 public:
  virtual ~Step() = default;
  /// Runs in the step's process thread; may block on simulated time.
  virtual void run(StepContext& ctx) = 0;
};

struct StepType {
  std::string op;
  std::string desc;
  std::vector<config::Field> fields;
  std::vector<config::Field> outputs;
  /// The op runs in a simulated process (enters the kernel): a platform without PCI boots one.
  bool needs_kernel = true;
  std::function<std::unique_ptr<Step>(const nlohmann::json& step, const std::string& pointer,
                                      const PlatformConfig& platform, config::Issues& issues)>
      prepare;
};

/// Every op a scenario may use, in documentation order.
const std::vector<StepType>& step_types();
const StepType* find_step_type(const std::string& op);

// The registry is explicit (no static self-registration), so no step type can be dropped by the
// linker. Each op file provides one of these.
StepType dma_step_type();
StepType delay_step_type();
StepType memory_check_step_type();
StepType memory_fill_step_type();
std::vector<StepType> kernel_step_types();
std::vector<StepType> vfio_step_types();
StepType vfio_open_device_step_type();
std::vector<StepType> region_rw_step_types();
std::vector<StepType> eventfd_step_types();
std::vector<StepType> process_step_types();
std::vector<StepType> fault_step_types();

}  // namespace vfiosim
