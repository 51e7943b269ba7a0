// uuid_parse() (lib/uuid.c): "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case) to the
// 16 bytes of a uuid_t, in string order. Only the first 36 characters are read.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace vfiosim::kernel {

constexpr size_t UUID_STRING_LEN = 36;

/// 0, or -EINVAL for a string that is not a UUID.
int uuid_parse(const std::string& s, std::array<uint8_t, 16>& out);

}  // namespace vfiosim::kernel
