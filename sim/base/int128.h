// 128-bit unsigned integers for exact intermediate products (cycle x 1e12, size x count).
// GCC and Clang provide them as an extension; `__extension__` keeps -Wpedantic quiet.
#pragma once

namespace vfiosim {
__extension__ typedef unsigned __int128 uint128_t;
}  // namespace vfiosim
