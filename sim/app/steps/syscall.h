// What the userspace steps share: a value in a step argument resolved against the process's
// names and the VFIO constants, ret/errno outputs as userspace sees them, the task of the step's
// process, one system call entered with its CPU cost, and the check that an op has a PCI
// hierarchy to talk to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/app/platform.h"
#include "sim/app/steps/step.h"

namespace vfiosim::userspace {

/// A number, a size string, a VFIO constant, a flag list, or a name an earlier step gave.
int64_t resolve(const nlohmann::json& v, std::map<std::string, int64_t>& names);
/// {"ret": ret} or {"ret": -1, "errno": "E..."}.
nlohmann::json errno_outputs(long ret);
std::vector<config::Field> errno_fields();
inline kernel::Task& task_of(StepContext& ctx) { return ctx.platform.pci()->task(ctx.process); }
/// An issue at `ptr` when the platform has no PCI hierarchy.
bool needs_pci(const PlatformConfig& p, const std::string& ptr, config::Issues& issues);

/// One system call: entered from userspace in the process's task, with its CPU cost.
template <typename Fn>
long syscall(StepContext& ctx, Fn fn) {
  PciPlatform& pci = *ctx.platform.pci();
  kernel::Task& t = task_of(ctx);
  kernel::CurrentScope scope(t);
  pci.costs().charge(kernel::Cost::SyscallEntry);
  return fn(t);
}

}  // namespace vfiosim::userspace
