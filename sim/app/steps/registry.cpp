#include "sim/app/steps/step.h"

namespace vfiosim {

const std::vector<StepType>& step_types() {
  static const std::vector<StepType> types = [] {
    std::vector<StepType> t = {dma_step_type(), delay_step_type(), memory_fill_step_type(), memory_check_step_type()};
    for (auto& k : kernel_step_types()) t.push_back(std::move(k));
    for (auto& k : vfio_step_types()) t.push_back(std::move(k));
    for (auto& k : eventfd_step_types()) t.push_back(std::move(k));
    for (auto& k : process_step_types()) t.push_back(std::move(k));
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
