#include "sim/app/steps/syscall.h"

#include "sim/base/units.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim::userspace {

using config::Field;
using nlohmann::json;

uapi::Resolver resolver_of(const std::map<std::string, int64_t>& names) {
  return [&names](const std::string& s) -> std::optional<int64_t> {
    if (auto it = names.find(s); it != names.end()) return it->second;
    if (auto n = parse_size(s)) return static_cast<int64_t>(*n);
    return std::nullopt;
  };
}

int64_t resolve(const json& v, std::map<std::string, int64_t>& names) {
  auto r = uapi::value(v, resolver_of(names));
  if (!r) throw StepError(r.error().message);
  return *r;
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
