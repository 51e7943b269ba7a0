#include "sim/app/steps/step.h"

namespace vfiosim {

namespace {
// "repeat" is expanded before validation (sim/app/scenario_repeat.h); its type is here so the
// schema and the op catalogue describe it.
StepType repeat_step_type() {
  using config::Field;
  StepType t;
  t.op = "repeat";
  t.needs_kernel = false;
  t.desc = "Runs its steps count times; in them \"${expr}\" is an integer computed from the repeat variables "
           "(+ - * / % << >>, parentheses, 0x literals) and \"..${expr}..\" is interpolated";
  t.fields = {Field::integer("count").require().at_least(0).at_most(1000000).describe("Iterations (or \"${expr}\" of an outer variable)"),
              Field::string("var").defaults("i").describe("The variable counting iterations from 0"),
              Field::array_of("steps", Field::any("")).require().items(1).describe("The steps of one iteration, as in /steps")};
  t.prepare = [](const nlohmann::json&, const std::string& ptr, const PlatformConfig&, config::Issues& issues)
      -> std::unique_ptr<Step> {
    issues.add(ptr, "a repeat is expanded before its steps are prepared");  // cannot happen
    return nullptr;
  };
  return t;
}
}  // namespace

const std::vector<StepType>& step_types() {
  static const std::vector<StepType> types = [] {
    std::vector<StepType> t = {dma_step_type(), delay_step_type(), memory_fill_step_type(), memory_check_step_type()};
    for (auto& k : kernel_step_types()) t.push_back(std::move(k));
    for (auto& k : vfio_step_types()) t.push_back(std::move(k));
    t.push_back(vfio_open_device_step_type());
    for (auto& k : region_rw_step_types()) t.push_back(std::move(k));
    for (auto& k : eventfd_step_types()) t.push_back(std::move(k));
    for (auto& k : process_step_types()) t.push_back(std::move(k));
    for (auto& k : fault_step_types()) t.push_back(std::move(k));
    t.push_back(repeat_step_type());
    return t;
  }();
  return types;
}

const StepType* find_step_type(const std::string& op) {
  for (const auto& t : step_types())
    if (t.op == op) return &t;
  return nullptr;
}

}  // namespace vfiosim
