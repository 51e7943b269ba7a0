// Units: parsing of sizes and addresses as scenarios write them ("4KiB", "0x1000", 4096),
// and formatting of byte counts, times and rates for human-readable output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vfiosim {

/// Parses a size or address: a non-negative decimal or hex ("0x1000") integer, optionally
/// followed by a binary suffix B, KiB, MiB, GiB, TiB (also K, M, G, T). Returns nullopt when the
/// text is not a size or overflows 64 bits.
std::optional<uint64_t> parse_size(const std::string& text);

/// Parses a duration such as "10ms", "2.5 us", "100ns", "1s", "500ps" into picoseconds.
std::optional<uint64_t> parse_duration_ps(const std::string& text);

/// "4 KiB", "1.5 MiB", "64 B": the largest binary unit that keeps the value >= 1.
std::string format_bytes(uint64_t bytes);

/// Formats picoseconds as a number of nanoseconds with up to three decimals ("93.334").
std::string format_ns(uint64_t ps);

/// Fixed-point rendering of a double with `decimals` digits, locale-independent.
std::string format_fixed(double value, int decimals);

/// Rounds to `decimals` digits so values written to JSON are stable across platforms.
double round_to(double value, int decimals);

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
constexpr uint64_t TiB = 1024 * GiB;

}  // namespace vfiosim
