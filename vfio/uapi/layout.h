// Struct layouts of <linux/vfio.h> (and <linux/vfio_ccw.h>'s I/O regions), derived from the
// system headers with offsetof/sizeof, so they are the real ABI. A layout lists the named fields
// the JSON form has (little-endian integers, byte arrays as hex, nested structs as objects) and,
// for a struct ending in a flexible array, the element type, the field that counts the elements
// and the JSON key of the array. Reading never goes past the bytes given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vfio/uapi/value.h"

namespace vfiosim::uapi {

enum class FieldKind {
  Uint,    // a little-endian unsigned integer of `size` bytes
  Bytes,   // a byte array, in JSON as hex digits
  Struct,  // a nested struct (`sub`), in JSON as an object
};

struct FieldDesc {
  const char* name;
  size_t offset;
  size_t size;
  FieldKind kind = FieldKind::Uint;
  const char* sub = nullptr;  // the nested struct's type (Struct)
};

/// A flexible array at the end of a struct: elements of `element` counted by `count_field`.
struct TailDesc {
  const char* key;          // the JSON key of the array
  const char* element;      // the element's struct type
  const char* count_field;  // the header field holding the element count
};

struct StructDesc {
  const char* type;
  size_t size;
  std::vector<FieldDesc> fields;
  TailDesc tail{};  // key == nullptr: none
};

/// Every struct the codec knows: ioctl arguments first, then capabilities, elements, CCW regions.
const std::vector<StructDesc>& struct_table();
/// A layout by its C name ("vfio_region_info"); nullptr if unknown.
const StructDesc* find_struct(const std::string& type);
/// The field names of the structs ioctls take (their union, in table order).
std::vector<std::string> ioctl_struct_field_names();

/// The fields of `sd` that lie wholly within `n` bytes at `p`, as a JSON object (no tail).
nlohmann::json read_fields(const StructDesc& sd, const uint8_t* p, size_t n);
/// Writes the fields `obj` names into `p` (sd.size bytes); fields it does not name are left as
/// they are. A key that is not a field (nor in `extra`) is an error.
std::optional<Error> write_fields(const StructDesc& sd, const nlohmann::json& obj, const Resolver& resolve,
                                  const std::string& path, uint8_t* p, const std::vector<std::string>& extra = {});
/// Keys of `obj` that are neither fields of `sd` nor in `extra`, as errors at path/key.
std::vector<Error> unknown_keys(const StructDesc& sd, const nlohmann::json& obj, const std::string& path,
                                const std::vector<std::string>& extra = {});

/// The tail array of `sd` in the `n` bytes at `p` (elements that fit, at most the count field's).
nlohmann::json read_tail(const StructDesc& sd, const uint8_t* p, size_t n);
/// The bytes of the tail elements `arr` (an array of objects), placed after the struct.
Result<std::vector<uint8_t>> write_tail(const StructDesc& sd, const nlohmann::json& arr, const Resolver& resolve,
                                        const std::string& path);

/// A little-endian unsigned integer of `size` (1-8) bytes at `p`.
uint64_t load_le(const uint8_t* p, size_t size);
void store_le(uint8_t* p, size_t size, uint64_t v);

}  // namespace vfiosim::uapi
