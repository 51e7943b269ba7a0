#include "vfio/uapi/value.h"

#include <cctype>

#include "vfio/uapi/ioctls.h"

namespace vfiosim::uapi {

using nlohmann::json;

Result<int64_t> value(const json& v, const Resolver& resolve, const std::string& path) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_array()) {
    int64_t out = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      auto e = value(v[i], resolve, path + "/" + std::to_string(i));
      if (!e) return e.error();
      out |= *e;
    }
    return out;
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (resolve)
      if (auto n = resolve(s)) return *n;
    if (auto c = vfio_constant(s)) return static_cast<int64_t>(*c);
    return Error{path, "unknown name \"" + s + "\" (not a descriptor or buffer of this process, nor a VFIO constant)"};
  }
  if (v.is_null()) return int64_t{0};
  return Error{path, "cannot use " + v.dump() + " as a value"};
}

Result<uint64_t> sized_value(const json& v, const Resolver& resolve, const std::string& path, size_t bytes) {
  auto r = value(v, resolve, path);
  if (!r) return r.error();
  if (bytes < 8) {
    const int64_t lo = -(int64_t{1} << (8 * bytes - 1)), hi = (int64_t{1} << (8 * bytes)) - 1;
    if (*r < lo || *r > hi)
      return Error{path, std::to_string(*r) + " does not fit in " + std::to_string(bytes) + " byte" + (bytes > 1 ? "s" : "")};
  }
  return static_cast<uint64_t>(*r);
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::vector<uint8_t>> parse_bytes(const json& v, const std::string& path) {
  std::vector<uint8_t> out;
  if (v.is_string()) {
    std::string hex;
    for (char c : v.get<std::string>())
      if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
    if (hex.size() % 2) return Error{path, "expected an even number of hex digits"};
    for (size_t i = 0; i < hex.size(); i += 2) {
      const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
      if (hi < 0 || lo < 0) return Error{path, "expected an even number of hex digits"};
      out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
  } else if (v.is_array()) {
    for (const auto& b : v) {
      if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255)
        return Error{path, "expected byte values from 0 to 255"};
      out.push_back(static_cast<uint8_t>(b.get<int64_t>()));
    }
  } else {
    return Error{path, "expected a hex string or an array of bytes"};
  }
  return out;
}

std::optional<std::vector<uint8_t>> parse_uuid(const std::string& text) {
  if (text.size() != 36) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i++] != '-') return std::nullopt;
      continue;
    }
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    i += 2;
  }
  return out;
}

std::string format_uuid(const uint8_t* p) {
  const std::string h = to_hex(p, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace vfiosim::uapi
