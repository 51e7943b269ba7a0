// The <linux/vfio.h> names a client may write: ioctl requests with how their argument is passed
// and the struct it points at, and the constants (extension and IOMMU-model ids, flags, indexes,
// capability ids). Part of the UAPI module (vfio/uapi/uapi.h), which depends on nothing of the
// simulator.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vfiosim::uapi {

enum class IoctlArg {
  None,     // no argument
  Value,    // by value (an extension or model id)
  FdPtr,    // a pointer to an int file descriptor (GROUP_SET_CONTAINER)
  String,   // a NUL-terminated string (GROUP_GET_DEVICE_FD)
  Struct,   // a structure starting with argsz
};

struct IoctlInfo {
  const char* name;
  unsigned cmd;
  IoctlArg arg;
  const char* type;  // the UAPI struct for Struct args
};

/// Every request by name; nullptr if unknown.
const IoctlInfo* find_ioctl(const std::string& name);
const std::vector<IoctlInfo>& ioctl_table();
/// VFIO_TYPE1v2_IOMMU, VFIO_DMA_MAP_FLAG_READ, VFIO_GROUP_FLAGS_VIABLE, ... -> value.
std::optional<uint64_t> vfio_constant(const std::string& name);

}  // namespace vfiosim::uapi
