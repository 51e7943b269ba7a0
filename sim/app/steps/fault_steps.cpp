// Op "inject_fault": arms a fault-injection site of the simulated kernel, as failslab's debugfs
// attributes do (lib/fault-inject.c): the site's `nth` next call fails, and the `times` - 1 calls
// after it. The sites are allocations the kernel can fail (vfio_group_alloc, vfio_container_alloc,
// vfio_dma_alloc, vfio_dma_bitmap_alloc) and a driver's open_device (vfio_open_device); each fails
// with the kernel's error there (-ENOMEM). The table is reset at the start of every run.
#include "sim/app/steps/syscall.h"
#include "vfio/linux/lib/fault-inject.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;

class InjectFaultStep : public Step {
 public:
  InjectFaultStep(std::string site, uint64_t nth, uint64_t times) : site_(std::move(site)), nth_(nth), times_(times) {}
  void run(StepContext& ctx) override {
    kernel::FaultInjection::instance().arm(site_, nth_, times_);
    ctx.outputs = {{"ret", 0}};
  }

 private:
  std::string site_;
  uint64_t nth_, times_;
};

}  // namespace

std::vector<StepType> fault_step_types() {
  size_t n = 0;
  const char* const* sites = kernel::fault_sites(&n);
  StepType t;
  t.op = "inject_fault";
  t.desc = "Arm a fault-injection site (failslab-style): its nth next call fails with the kernel's error, and the "
           "times - 1 calls after it";
  t.fields = {Field::enumeration("site", std::vector<std::string>(sites, sites + n)).require()
                  .describe("The call site: an allocation, or a driver's open_device"),
              Field::integer("nth").describe("Which next call fails first (1: the next)").defaults(1).at_least(1),
              Field::integer("times").describe("How many calls fail from then on").defaults(1).at_least(1)};
  t.outputs = {Field::integer("ret").describe("0")};
  t.prepare = [](const json& s, const std::string&, const PlatformConfig&, config::Issues&) -> std::unique_ptr<Step> {
    return std::make_unique<InjectFaultStep>(s["site"].get<std::string>(), s["nth"].get<uint64_t>(),
                                             s["times"].get<uint64_t>());
  };
  return {t};
}

}  // namespace vfiosim
