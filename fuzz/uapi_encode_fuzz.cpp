// Fuzz target: encoding arguments as a scenario or a front-end writes them. The first byte picks
// the request, the rest is JSON; check and encode report bad input as errors and never throw.
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_target.h"
#include "vfio/uapi/ioctls.h"
#include "vfio/uapi/uapi.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& table = vfiosim::uapi::ioctl_table();
  const auto& info = table[data[0] % table.size()];
  const nlohmann::json arg = nlohmann::json::parse(data + 1, data + size, nullptr, false);
  if (arg.is_discarded()) return 0;
  const auto resolve = [](const std::string& name) -> std::optional<int64_t> {
    if (name == "fd") return 3;
    return std::nullopt;
  };
  (void)vfiosim::uapi::check(info, arg);
  (void)vfiosim::uapi::encode(info, arg, resolve);
  return 0;
}
