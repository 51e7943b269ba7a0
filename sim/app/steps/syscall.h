// What the userspace steps share: a value in a step argument resolved against the process's
// names and the VFIO constants, ret/errno outputs as userspace sees them, the task of the step's
// process, the system-call layer (vfio/linux/kernel/syscalls.h), and the check that an op has a
// PCI hierarchy to talk to.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/app/platform.h"
#include "sim/app/steps/step.h"
#include "vfio/uapi/value.h"

namespace vfiosim::userspace {

/// A number, a size string, a VFIO constant, a flag list, or a name an earlier step gave
/// (uapi::value with resolver_of(names)); a StepError if it is none of them.
int64_t resolve(const nlohmann::json& v, std::map<std::string, int64_t>& names);
/// The process's names (descriptors, buffers), then size strings ("4KiB"), for the UAPI codec.
uapi::Resolver resolver_of(const std::map<std::string, int64_t>& names);
/// {"ret": ret} or {"ret": -1, "errno": "E..."}.
nlohmann::json errno_outputs(long ret);
std::vector<config::Field> errno_fields();
inline kernel::Task& task_of(StepContext& ctx) { return ctx.platform.kernel()->task(ctx.process); }
/// The names (descriptors, buffers) the scenario gave in the step's process ("container" -> 3).
inline std::map<std::string, int64_t>& names_of(StepContext& ctx) { return *ctx.names; }
/// An issue at `ptr` when the platform has no PCI hierarchy.
bool needs_pci(const PlatformConfig& p, const std::string& ptr, config::Issues& issues);

/// The system-call layer of the step's platform (every step that enters the kernel goes through it).
inline kernel::Syscalls& sys(StepContext& ctx) { return ctx.platform.kernel()->syscalls(); }

}  // namespace vfiosim::userspace
