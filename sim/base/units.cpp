#include "sim/base/int128.h"
#include "sim/base/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace vfiosim {

namespace {

std::optional<uint64_t> suffix_multiplier(const std::string& suffix) {
  if (suffix.empty() || suffix == "B") return 1;
  static const struct {
    const char* a;
    const char* b;
    const char* c;
    uint64_t mult;
  } table[] = {{"K", "KiB", "KB", KiB}, {"M", "MiB", "MB", MiB}, {"G", "GiB", "GB", GiB},
               {"T", "TiB", "TB", TiB}};
  for (const auto& row : table)
    if (suffix == row.a || suffix == row.b || suffix == row.c) return row.mult;
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_size(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t end = text.size();
  while (end > i && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  if (i == end) return std::nullopt;

  unsigned base = 10;
  if (end - i > 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  uint128_t value = 0;
  size_t digits = 0;
  for (; i < end; ++i) {
    const char c = text[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else if (c == '_') continue;  // digit separator: 0x1_0000
    else break;
    value = value * base + d;
    if (value > std::numeric_limits<uint64_t>::max()) return std::nullopt;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  while (i < end && text[i] == ' ') ++i;
  // A hex number takes no suffix: "0x1B" is 27, not 1 byte.
  const std::string suffix = text.substr(i, end - i);
  if (base == 16 && !suffix.empty()) return std::nullopt;
  const auto mult = suffix_multiplier(suffix);
  if (!mult) return std::nullopt;
  value *= *mult;
  if (value > std::numeric_limits<uint64_t>::max()) return std::nullopt;
  return static_cast<uint64_t>(value);
}

std::optional<uint64_t> parse_duration_ps(const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  static const struct {
    const char* name;
    double ps;
  } table[] = {{"ps", 1}, {"ns", 1e3}, {"us", 1e6}, {"ms", 1e9}, {"s", 1e12}};
  for (const auto& row : table)
    if (unit == row.name) {
      const double ps = value * row.ps;
      if (!(ps >= 0) || ps > 1.8e19) return std::nullopt;
      return static_cast<uint64_t>(std::round(ps));  // llround's long long overflows above 2^63
    }
  return std::nullopt;
}

std::string format_bytes(uint64_t bytes) {
  static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024.0 && unit < 6) {
    v /= 1024.0;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + " B";
  std::string s = format_fixed(v, 2);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s + " " + names[unit];
}

std::string format_ns(uint64_t ps) {
  std::string s = std::to_string(ps / 1000);
  const uint64_t frac = ps % 1000;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03llu", static_cast<unsigned long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s;
}

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

double round_to(double value, int decimals) {
  if (!std::isfinite(value)) return value;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace vfiosim
