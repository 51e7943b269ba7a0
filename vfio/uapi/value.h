// Values in the JSON form of <linux/vfio.h> arguments: a number, a <linux/vfio.h> constant, a list
// of flag names (their OR), or a name only the caller knows (a descriptor, a buffer), which a
// Resolver turns into a number. Errors carry the path of the value inside the argument
// ("/data/2") and are returned, never thrown. Also the byte forms the codec shares: hex strings and
// UUIDs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfiosim::uapi {

/// Where in the argument a problem is (a JSON pointer relative to the argument, "" for the
/// argument itself) and what it is.
struct Error {
  std::string path;
  std::string message;
  /// "path: message", or the message alone at the argument itself.
  std::string text() const { return path.empty() ? message : path + ": " + message; }
};

/// A value or the error that stopped it.
template <class T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}          // NOLINT: implicit, so functions can `return value;`
  Result(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& operator*() const { return std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// The caller's names (descriptors, buffers, sizes): a number, or nullopt when the name is not one.
using Resolver = std::function<std::optional<int64_t>(const std::string& name)>;

/// A number as written: integers, flag lists (OR of their elements), names (the resolver first,
/// then the <linux/vfio.h> constants), null (0). `path` goes into the error.
Result<int64_t> value(const nlohmann::json& v, const Resolver& resolve, const std::string& path = "");

/// A value that must fit `bytes` bytes, as signed or unsigned (-1 fits a u32 as 0xffffffff).
Result<uint64_t> sized_value(const nlohmann::json& v, const Resolver& resolve, const std::string& path, size_t bytes);

/// Lower-case hex digits of the bytes.
std::string to_hex(const uint8_t* p, size_t n);
/// Hex digits (spaces allowed) or an array of byte values 0-255; an error message otherwise.
Result<std::vector<uint8_t>> parse_bytes(const nlohmann::json& v, const std::string& path);

/// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case) as the 16 bytes of a uuid_t.
std::optional<std::vector<uint8_t>> parse_uuid(const std::string& text);
std::string format_uuid(const uint8_t* p);

}  // namespace vfiosim::uapi
