#include "vfio/linux/lib/uuid.h"

#include <cctype>
#include <cerrno>

namespace vfiosim::kernel {

int uuid_parse(const std::string& s, std::array<uint8_t, 16>& out) {
  if (s.size() < UUID_STRING_LEN) return -EINVAL;
  auto nibble = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; };
  size_t b = 0;
  for (size_t i = 0; i < UUID_STRING_LEN;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return -EINVAL;
      ++i;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(s[i])) || !std::isxdigit(static_cast<unsigned char>(s[i + 1])))
      return -EINVAL;
    out[b++] = static_cast<uint8_t>(nibble(s[i]) << 4 | nibble(s[i + 1]));
    i += 2;
  }
  return 0;
}

}  // namespace vfiosim::kernel
