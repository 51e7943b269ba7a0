// Kernel error numbers (include/uapi/asm-generic/errno-base.h and errno.h) with their names, so
// scenarios can expect "EBUSY" and reports say what the kernel said.
#pragma once

#include <cerrno>
#include <string>

namespace vfiosim::kernel {

// The values are <cerrno>'s (EBUSY, ENODEV, ...): on Linux they are the kernel's numbers.

/// "EBUSY" for 16 (positive or negative); "E<n>" for numbers without a name here.
std::string errno_name(int err);
/// 16 for "EBUSY"; 0 if the name is unknown.
int errno_from_name(const std::string& name);

}  // namespace vfiosim::kernel
