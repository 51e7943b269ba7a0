// Fuzz target: decoding whatever bytes a kernel (or a hostile peer) hands back. The first byte
// picks the request; decode must never read past the buffer, loop, or throw.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_target.h"
#include "vfio/uapi/ioctls.h"
#include "vfio/uapi/uapi.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& table = vfiosim::uapi::ioctl_table();
  const auto& info = table[data[0] % table.size()];
  const nlohmann::json out = vfiosim::uapi::decode(info, data + 1, size - 1);
  (void)out.dump();
  return 0;
}
