// JSON -> the bytes of an ioctl argument (vfio/uapi/uapi.h), and the checks that need no names.
#include <linux/vfio.h>

#include <algorithm>

#include "vfio/uapi/caps.h"
#include "vfio/uapi/layout.h"
#include "vfio/uapi/uapi.h"

namespace vfiosim::uapi {

using nlohmann::json;

namespace {

bool is(const StructDesc& sd, const char* type) { return std::string(sd.type) == type; }

// The struct whose fields a data[] object holds (UNMAP_DMA's and DIRTY_PAGES's), or nullptr.
const StructDesc* data_struct(const StructDesc& sd) {
  if (is(sd, "vfio_iommu_type1_dma_unmap")) return find_struct("vfio_bitmap");
  if (is(sd, "vfio_iommu_type1_dirty_bitmap")) return find_struct("vfio_iommu_type1_dirty_bitmap_get");
  return nullptr;
}

// The keys an argument may have besides its fields.
std::vector<std::string> extra_keys(const StructDesc& sd) {
  std::vector<std::string> out;
  if (is(sd, "vfio_irq_set") || is(sd, "vfio_pci_hot_reset") || is(sd, "vfio_device_feature") || data_struct(sd))
    out.push_back("data");
  if (sd.tail.key) out.push_back(sd.tail.key);
  if (has_caps(sd.type)) out.push_back("caps");
  return out;
}

// `obj` is an object without unknown keys (`extra` are allowed too), and so are the structs nested in it.
void check_fields(const StructDesc& sd, const json& obj, const std::string& path, std::vector<Error>& out,
                  const std::vector<std::string>& extra = {}) {
  if (!obj.is_object()) {
    out.push_back({path, std::string("expected an object with the fields of struct ") + sd.type});
    return;
  }
  for (auto& e : unknown_keys(sd, obj, path, extra)) out.push_back(std::move(e));
  for (const auto& f : sd.fields)
    if (f.kind == FieldKind::Struct && obj.contains(f.name)) check_fields(*find_struct(f.sub), obj[f.name], path + "/" + f.name, out);
}

// data[] of the argument, after its header.
Result<std::vector<uint8_t>> encode_data(const StructDesc& sd, const json& arg, const Resolver& resolve) {
  std::vector<uint8_t> out;
  if (!arg.contains("data")) return out;
  const json& data = arg["data"];
  if (const StructDesc* ds = data_struct(sd)) {
    out.assign(ds->size, 0);
    if (auto e = write_fields(*ds, data, resolve, "/data", out.data())) return *e;
    return out;
  }
  if (is(sd, "vfio_device_feature") && data.is_string()) {
    auto u = parse_uuid(data.get<std::string>());
    if (!u) return Error{"/data", "expected a UUID \"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\", got " + data.dump()};
    return *u;
  }
  // Elements of 1 byte (feature bytes, irq bools) or 4 (eventfds, group fds).
  size_t width = 4;
  if (is(sd, "vfio_device_feature")) {
    width = 1;
  } else if (is(sd, "vfio_irq_set")) {
    auto flags = value(arg.value("flags", json(0)), resolve, "/flags");
    if (!flags) return flags.error();
    if (*flags & VFIO_IRQ_SET_DATA_BOOL) width = 1;
  }
  for (size_t i = 0; i < data.size(); ++i) {
    auto v = sized_value(data[i], resolve, "/data/" + std::to_string(i), width);
    if (!v) return v.error();
    out.resize(out.size() + width);
    store_le(out.data() + out.size() - width, width, *v);
  }
  return out;
}

// Writes `v` into field `name` unless the argument gives that field itself.
void set_default(const StructDesc& sd, const json& arg, const char* name, uint64_t v, std::vector<uint8_t>& buf) {
  if (arg.contains(name)) return;
  for (const auto& f : sd.fields)
    if (std::string(f.name) == name) store_le(buf.data() + f.offset, f.size, v);
}

// The struct, then data[] or its tail array, then its capability chain; argsz covers them all
// unless the argument says otherwise.
Result<std::vector<uint8_t>> encode_object(const StructDesc& sd, const json& arg, const Resolver& resolve) {
  std::vector<uint8_t> buf(sd.size, 0);
  auto data = encode_data(sd, arg, resolve);
  if (!data) return data.error();
  buf.insert(buf.end(), data->begin(), data->end());
  if (sd.tail.key && arg.contains(sd.tail.key)) {
    auto tail = write_tail(sd, arg[sd.tail.key], resolve, std::string("/") + sd.tail.key);
    if (!tail) return tail.error();
    buf.insert(buf.end(), tail->begin(), tail->end());
    set_default(sd, arg, sd.tail.count_field, arg[sd.tail.key].size(), buf);
  }
  uint32_t first_cap = 0;
  if (arg.contains("caps")) {
    auto first = encode_caps(sd.type, arg["caps"], resolve, "/caps", buf);
    if (!first) return first.error();
    first_cap = *first;
  }
  const bool has_argsz = !sd.fields.empty() && std::string(sd.fields[0].name) == "argsz";
  uint64_t argsz = buf.size();
  if (has_argsz && arg.contains("argsz")) {
    auto v = sized_value(arg["argsz"], resolve, "/argsz", sd.fields[0].size);
    if (!v) return v.error();
    argsz = *v;
  }
  buf.resize(std::max<uint64_t>(buf.size(), std::min(argsz, kMaxArgBytes)), 0);
  if (auto e = write_fields(sd, arg, resolve, "", buf.data(), extra_keys(sd))) return *e;
  if (has_argsz) store_le(buf.data(), sd.fields[0].size, argsz);
  if (first_cap) set_default(sd, arg, "cap_offset", first_cap, buf);
  return buf;
}

}  // namespace

std::vector<Error> check(const IoctlInfo& info, const json& arg) {
  std::vector<Error> out;
  if (info.arg == IoctlArg::String && !arg.is_null() && !arg.is_string())
    out.push_back({"", "expected the device name as a string"});
  if (info.arg != IoctlArg::Struct || arg.is_null()) return out;
  const StructDesc& sd = *find_struct(info.type);
  check_fields(sd, arg, "", out, extra_keys(sd));
  if (!arg.is_object()) return out;
  if (sd.tail.key && arg.contains(sd.tail.key)) {
    const json& tail = arg[sd.tail.key];
    const std::string at = std::string("/") + sd.tail.key;
    if (!tail.is_array()) out.push_back({at, std::string("expected an array of struct ") + sd.tail.element});
    else
      for (size_t i = 0; i < tail.size(); ++i) check_fields(*find_struct(sd.tail.element), tail[i], at + "/" + std::to_string(i), out);
  }
  if (!arg.contains("data")) return out;
  const json& data = arg["data"];
  if (const StructDesc* ds = data_struct(sd)) {
    check_fields(*ds, data, "/data", out);
  } else if (is(sd, "vfio_device_feature") && data.is_string()) {
    if (!parse_uuid(data.get<std::string>()))
      out.push_back({"/data", "expected a UUID \"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\", got " + data.dump()});
  } else if (!data.is_array() && (is(sd, "vfio_irq_set") || is(sd, "vfio_pci_hot_reset") || is(sd, "vfio_device_feature"))) {
    out.push_back({"/data", is(sd, "vfio_device_feature") ? "expected a UUID string or an array of bytes"
                                                          : "expected an array of descriptors (or bools)"});
  }
  return out;
}

Result<Encoded> encode(const IoctlInfo& info, const json& arg, const Resolver& resolve) {
  Encoded out;
  if (info.arg == IoctlArg::None) return out;
  if (info.arg == IoctlArg::Value) {
    auto v = value(arg, resolve);
    if (!v) return v.error();
    out.kind = Encoded::Kind::Value;
    out.value = static_cast<uint64_t>(*v);
    return out;
  }
  out.kind = Encoded::Kind::Null;
  if (arg.is_null()) return out;  // a NULL pointer
  if (auto errors = check(info, arg); !errors.empty()) return errors.front();
  out.kind = Encoded::Kind::Pointer;
  if (info.arg == IoctlArg::FdPtr) {
    auto fd = sized_value(arg, resolve, "", 4);
    if (!fd) return fd.error();
    out.bytes.assign(4, 0);
    store_le(out.bytes.data(), 4, *fd);
  } else if (info.arg == IoctlArg::String) {
    const std::string s = arg.get<std::string>();
    out.bytes.assign(s.begin(), s.end());
    out.bytes.push_back(0);
  } else {
    auto b = encode_object(*find_struct(info.type), arg, resolve);
    if (!b) return b.error();
    out.bytes = std::move(*b);
  }
  return out;
}

Result<Encoded> encode(const std::string& request, const json& arg, const Resolver& resolve) {
  const IoctlInfo* info = find_ioctl(request);
  if (!info) return Error{"", "unknown ioctl \"" + request + "\""};
  return encode(*info, arg, resolve);
}

Result<std::vector<uint8_t>> encode_struct(const std::string& type, const json& obj, const Resolver& resolve) {
  const StructDesc* sd = find_struct(type);
  if (!sd) return Error{"", "unknown struct \"" + type + "\""};
  std::vector<Error> errors;
  check_fields(*sd, obj, "", errors, extra_keys(*sd));
  if (!errors.empty()) return errors.front();
  return encode_object(*sd, obj, resolve);
}

}  // namespace vfiosim::uapi
