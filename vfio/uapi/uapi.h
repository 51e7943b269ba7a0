// The UAPI module: the <linux/vfio.h> ioctls and their arguments as JSON, both ways.
//
//   encode(request, arg, resolver) -> the argument as the kernel receives it: nothing, a value, a
//                                      NULL pointer, or the bytes a pointer points at
//   decode(request, bytes)         -> the struct the bytes hold, as JSON
//
// A struct argument is a JSON object with the header's field names ("argsz", "flags", "index",
// ...). argsz defaults to what the struct and its payload need; a field the object leaves out is
// 0. Every value may be a number, a constant name ("VFIO_DMA_MAP_FLAG_READ"), a list of names (ORed)
// or a name the caller's Resolver knows (a descriptor, a buffer address). The flexible parts:
//   "data"    vfio_irq_set: eventfds (s32) or, with VFIO_IRQ_SET_DATA_BOOL, bools (u8);
//             vfio_pci_hot_reset: group fds (s32); vfio_device_feature: a UUID string (the
//             PCI_VF_TOKEN) or bytes; vfio_iommu_type1_dma_unmap: a vfio_bitmap {pgsize, size,
//             data}; vfio_iommu_type1_dirty_bitmap: a vfio_iommu_type1_dirty_bitmap_get {iova,
//             size, bitmap: {pgsize, size, data}}
//   "devices" vfio_pci_hot_reset_info: [{group_id, segment, bus, devfn}]
//   "caps"    the capability chain of the info structs (vfio/uapi/caps.h)
// decode gives the same form back (data[] only where the flags say it is there), so encode and
// decode round-trip; problems with a chain are listed under "malformed".
//
// Errors are returned (Error: the JSON pointer inside the argument and a message), never thrown,
// and decode never reads past the bytes it is given, whatever they hold.
//
// Layering: this module depends only on nlohmann_json and the system's <linux/vfio.h>; nothing of
// the simulator (no SystemC, no kernel port, no scenario code). The scenario ioctl step uses it,
// and an external front-end that forwards a real client's ioctls can link it alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vfio/uapi/ioctls.h"
#include "vfio/uapi/value.h"

namespace vfiosim::uapi {

/// The biggest struct argument encode builds: a larger argsz is written as asked but the buffer
/// behind it stops here.
constexpr uint64_t kMaxArgBytes = 1 << 20;

/// What an ioctl's third argument is.
struct Encoded {
  enum class Kind { None, Value, Null, Pointer } kind = Kind::None;
  uint64_t value = 0;          // Value
  std::vector<uint8_t> bytes;  // Pointer: what it points at
};

/// Everything about `arg` that can be known before names are resolved: its shape, unknown
/// fields, a malformed UUID. Empty when it is fine.
std::vector<Error> check(const IoctlInfo& info, const nlohmann::json& arg);

Result<Encoded> encode(const IoctlInfo& info, const nlohmann::json& arg, const Resolver& resolve);
Result<Encoded> encode(const std::string& request, const nlohmann::json& arg, const Resolver& resolve);

/// The argument after (or before) the call: Struct args as above, FdPtr as the int, String as the
/// text up to its NUL; null for None and Value.
nlohmann::json decode(const IoctlInfo& info, const uint8_t* p, size_t n);
inline nlohmann::json decode(const IoctlInfo& info, const std::vector<uint8_t>& b) { return decode(info, b.data(), b.size()); }

/// Any struct of layout.h (the vfio-ccw regions, a capability) by type name: its fields and its
/// tail array.
Result<std::vector<uint8_t>> encode_struct(const std::string& type, const nlohmann::json& obj, const Resolver& resolve);
Result<nlohmann::json> decode_struct(const std::string& type, const uint8_t* p, size_t n);

}  // namespace vfiosim::uapi
