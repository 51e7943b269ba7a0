// op "delay": the process sleeps for a simulated duration (userspace nanosleep; takes no CPU).
#include "sim/app/steps/step.h"
#include "sim/base/clock.h"

#include <cmath>

namespace vfiosim {

namespace {
class DelayStep : public Step {
 public:
  explicit DelayStep(uint64_t ps) : ps_(ps) {}
  void run(StepContext& ctx) override {
    sc_core::wait(ClockDomain::to_time(ps_));
    ctx.outputs = {{"slept_ns", static_cast<double>(ps_) / 1000.0}};
  }

 private:
  uint64_t ps_;
};
}  // namespace

StepType delay_step_type() {
  using config::Field;
  StepType t;
  t.op = "delay";
  t.needs_kernel = false;
  t.desc = "Let simulated time pass in this process (other processes and hardware keep running)";
  t.fields = {Field::number("duration_ns").with_unit("ns").require().describe("How long to sleep").at_least(0)
                  .at_most(1e12)};
  t.outputs = {Field::number("slept_ns").with_unit("ns").describe("Simulated time slept")};
  t.prepare = [](const nlohmann::json& s, const std::string&, const PlatformConfig&,
                 config::Issues&) -> std::unique_ptr<Step> {
    return std::make_unique<DelayStep>(static_cast<uint64_t>(std::llround(s["duration_ns"].get<double>() * 1000.0)));
  };
  return t;
}

}  // namespace vfiosim
