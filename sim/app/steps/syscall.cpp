#include "sim/app/steps/syscall.h"

#include "vfio/uapi/ioctls.h"
#include "sim/base/units.h"
#include "vfio/linux/base/errno.h"

namespace vfiosim::userspace {

using config::Field;
using nlohmann::json;

int64_t resolve(const json& v, std::map<std::string, int64_t>& names) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_array()) {
    int64_t out = 0;
    for (const auto& e : v) out |= resolve(e, names);
    return out;
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (auto it = names.find(s); it != names.end()) return it->second;
    if (auto c = uapi::vfio_constant(s)) return static_cast<int64_t>(*c);
    if (auto n = parse_size(s)) return static_cast<int64_t>(*n);
    throw StepError("unknown name \"" + s + "\" (not a descriptor or buffer of this process, nor a VFIO constant)");
  }
  if (v.is_null()) return 0;
  throw StepError("cannot use " + v.dump() + " as a value");
}

json errno_outputs(long ret) {
  if (ret < 0) return {{"ret", -1}, {"errno", kernel::errno_name(static_cast<int>(ret))}};
  return {{"ret", ret}};
}

bool needs_pci(const PlatformConfig& p, const std::string& ptr, config::Issues& issues) {
  if (p.pci) return true;
  issues.add(ptr + "/op", "this op needs a PCI hierarchy (/platform/pci)");
  return false;
}

std::vector<config::Field> errno_fields() {
  return {Field::integer("ret").describe("The call's return value (a descriptor, a count, 0), or -1"),
          Field::string("errno").describe("The kernel's error when ret is -1 (e.g. \"EINVAL\")")};
}

}  // namespace vfiosim::userspace
