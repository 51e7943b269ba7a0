// The bytes of an ioctl argument -> JSON (vfio/uapi/uapi.h). Every read is bounded by the bytes
// given: a field that does not fit is left out, an array stops at the end, a chain at its first
// bad link.
#include <linux/vfio.h>

#include <algorithm>

#include "vfio/uapi/caps.h"
#include "vfio/uapi/layout.h"
#include "vfio/uapi/uapi.h"

namespace vfiosim::uapi {

using nlohmann::json;

namespace {

uint64_t field_or(const json& fields, const char* name, uint64_t otherwise) {
  return fields.contains(name) ? fields[name].get<uint64_t>() : otherwise;
}

// `count` elements of `width` bytes from `at`, as many as fit (eventfds are signed).
json elements(const uint8_t* p, size_t n, size_t at, uint64_t count, size_t width) {
  json out = json::array();
  for (uint64_t i = 0; i < count && at + width <= n; ++i, at += width) {
    const uint64_t v = load_le(p + at, width);
    if (width == 4) out.push_back(static_cast<int32_t>(static_cast<uint32_t>(v)));
    else out.push_back(v);
  }
  return out;
}

// data[] of the structs that have one, as encode takes it.
void decode_data(const StructDesc& sd, const uint8_t* p, size_t n, json& out) {
  const std::string type = sd.type;
  const uint64_t flags = field_or(out, "flags", 0);
  const uint64_t count = field_or(out, "count", 0);
  if (type == "vfio_irq_set") {
    if (flags & VFIO_IRQ_SET_DATA_BOOL) out["data"] = elements(p, n, sd.size, count, 1);
    else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) out["data"] = elements(p, n, sd.size, count, 4);
  } else if (type == "vfio_pci_hot_reset") {
    out["data"] = elements(p, n, sd.size, count, 4);
  } else if (type == "vfio_device_feature") {
    const size_t end = std::min<uint64_t>(n, field_or(out, "argsz", n));
    if (end <= sd.size) return;
    if ((flags & VFIO_DEVICE_FEATURE_MASK) == VFIO_DEVICE_FEATURE_PCI_VF_TOKEN && end - sd.size == 16)
      out["data"] = format_uuid(p + sd.size);
    else
      out["data"] = elements(p, n, sd.size, end - sd.size, 1);
  } else {
    const bool dirty = (type == "vfio_iommu_type1_dma_unmap" && (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)) ||
                       (type == "vfio_iommu_type1_dirty_bitmap" && (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP));
    if (!dirty) return;
    const StructDesc& ds = *find_struct(type == "vfio_iommu_type1_dma_unmap" ? "vfio_bitmap" : "vfio_iommu_type1_dirty_bitmap_get");
    if (sd.size + ds.size <= n) out["data"] = read_fields(ds, p + sd.size, ds.size);
  }
}

// A C string from the bytes, up to its NUL: printable ASCII as is, any other byte as "\xNN", so
// the result is always valid UTF-8 JSON whatever the bytes hold.
std::string c_string(const uint8_t* p, size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n && p[i]; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
      out.push_back(static_cast<char>(p[i]));
    } else {
      out += "\\x";
      out.push_back(hex[p[i] >> 4]);
      out.push_back(hex[p[i] & 15]);
    }
  }
  return out;
}

}  // namespace

json decode(const IoctlInfo& info, const uint8_t* p, size_t n) {
  switch (info.arg) {
    case IoctlArg::None:
    case IoctlArg::Value: return nullptr;
    case IoctlArg::FdPtr: return n >= 4 ? json(static_cast<int32_t>(static_cast<uint32_t>(load_le(p, 4)))) : json();
    case IoctlArg::String: return c_string(p, n);
    case IoctlArg::Struct: break;
  }
  const StructDesc& sd = *find_struct(info.type);
  json out = read_fields(sd, p, n);
  std::vector<std::string> malformed;
  if (sd.tail.key) out[sd.tail.key] = read_tail(sd, p, n);
  if (has_caps(sd.type))
    out["caps"] = decode_caps(sd.type, p, n, sd.size, static_cast<uint32_t>(field_or(out, "cap_offset", 0)), malformed);
  decode_data(sd, p, n, out);
  if (!malformed.empty()) out["malformed"] = malformed;
  return out;
}

Result<json> decode_struct(const std::string& type, const uint8_t* p, size_t n) {
  const StructDesc* sd = find_struct(type);
  if (!sd) return Error{"", "unknown struct \"" + type + "\""};
  json out = read_fields(*sd, p, n);
  if (sd->tail.key) out[sd->tail.key] = read_tail(*sd, p, n);
  return out;
}

}  // namespace vfiosim::uapi
