// Declarative configuration specs: each model and each scenario step describes its fields once —
// name, kind, unit, default, range and a one-line description — and that one description drives
// validation (with JSON-pointer errors), default filling (the resolved layer), the JSON Schema,
// the `vfiosim list` parameter table and `--set` overrides.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/config/errors.h"

namespace vfiosim::config {

using nlohmann::json;

enum class Kind {
  Integer,  // JSON integer
  Number,   // JSON number
  Boolean,
  String,
  Size,     // bytes or an address: 4096, "0x1000", "4KiB"; resolved to an unsigned integer
  Enum,     // one of a fixed set of strings
  Object,   // fields described by an ObjectSpec
  Array,    // items described by `item`
  Union,    // an object whose discriminator key selects one of several ObjectSpecs
  Any,      // any JSON value (validated later by whoever consumes it)
};

class ObjectSpec;
class UnionSpec;

struct Field {
  std::string name;
  Kind kind = Kind::Any;
  std::string unit;
  std::string desc;
  bool required = false;
  json def;  // default as a scenario would write it; null = none
  std::optional<double> min;
  std::optional<double> max;
  bool power_of_two = false;
  std::vector<std::string> choices;
  std::shared_ptr<const ObjectSpec> object;  // Kind::Object
  std::shared_ptr<const UnionSpec> variants;  // Kind::Union
  std::shared_ptr<const Field> item;          // Kind::Array
  size_t min_items = 0;
  std::optional<size_t> max_items;

  static Field integer(std::string name) { return make(std::move(name), Kind::Integer); }
  static Field number(std::string name) { return make(std::move(name), Kind::Number); }
  static Field boolean(std::string name) { return make(std::move(name), Kind::Boolean); }
  static Field string(std::string name) { return make(std::move(name), Kind::String); }
  static Field size(std::string name) { return make(std::move(name), Kind::Size); }
  static Field any(std::string name) { return make(std::move(name), Kind::Any); }
  static Field enumeration(std::string name, std::vector<std::string> choices);
  static Field object_of(std::string name, std::shared_ptr<const ObjectSpec> spec);
  static Field union_of(std::string name, std::shared_ptr<const UnionSpec> spec);
  static Field array_of(std::string name, Field item);

  Field& with_unit(std::string u) { unit = std::move(u); return *this; }
  Field& describe(std::string d) { desc = std::move(d); return *this; }
  Field& require() { required = true; return *this; }
  Field& defaults(json d) { def = std::move(d); return *this; }
  Field& at_least(double v) { min = v; return *this; }
  Field& at_most(double v) { max = v; return *this; }
  Field& pow2() { power_of_two = true; return *this; }
  Field& items(size_t lo, std::optional<size_t> hi = std::nullopt) { min_items = lo; max_items = hi; return *this; }

  /// Human phrase for what this field accepts: "an integer ≥ 1", "a size (e.g. 4096, \"4KiB\")".
  std::string expected() const;

 private:
  static Field make(std::string name, Kind kind);
};

/// A cross-field check run on an object after its fields resolved cleanly.
using ObjectCheck = std::function<void(const json& resolved, const std::string& pointer, Issues&)>;

class ObjectSpec {
 public:
  ObjectSpec(std::string title, std::string desc) : title_(std::move(title)), desc_(std::move(desc)) {}

  ObjectSpec& add(Field field);
  ObjectSpec& check(ObjectCheck fn) { checks_.push_back(std::move(fn)); return *this; }
  /// Keys not listed are accepted and kept as written (for maps such as step expectations).
  ObjectSpec& allow_other_keys(Field value_spec);

  const std::string& title() const { return title_; }
  const std::string& desc() const { return desc_; }
  const std::vector<Field>& fields() const { return fields_; }
  const Field* find(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<ObjectCheck>& checks() const { return checks_; }
  const Field* other_keys() const { return other_.get(); }

 private:
  std::string title_;
  std::string desc_;
  std::vector<Field> fields_;
  std::vector<ObjectCheck> checks_;
  std::shared_ptr<Field> other_;
};

/// Objects told apart by one string key (steps by "op").
class UnionSpec {
 public:
  explicit UnionSpec(std::string discriminator) : key_(std::move(discriminator)) {}
  UnionSpec& add(const std::string& value, std::shared_ptr<const ObjectSpec> spec);

  const std::string& key() const { return key_; }
  const std::vector<std::pair<std::string, std::shared_ptr<const ObjectSpec>>>& variants() const {
    return variants_;
  }
  const ObjectSpec* find(const std::string& value) const;
  std::vector<std::string> values() const;

 private:
  std::string key_;
  std::vector<std::pair<std::string, std::shared_ptr<const ObjectSpec>>> variants_;
};

/// Validates `input` (as written) against `field` and returns the resolved value: defaults filled
/// in, sizes turned into integers. Problems are added to `issues` with their JSON pointers; the
/// returned value is only meaningful when `issues` stayed empty.
json resolve(const Field& field, const json& input, const std::string& pointer, Issues& issues);

/// Resolves a whole document against a root object spec; throws ConfigError on any problem.
json resolve_document(const std::shared_ptr<const ObjectSpec>& root, const json& input);

/// The JSON Schema (draft-07) equivalent of a root object spec.
json to_json_schema(const ObjectSpec& root, const std::string& id, const std::string& title);

/// One row per leaf parameter below `spec`: dotted path, kind, default, unit, description.
struct ParamRow {
  std::string path;
  std::string type;
  std::string def;
  std::string unit;
  std::string desc;
};
void list_params(const ObjectSpec& spec, const std::string& prefix, std::vector<ParamRow>& rows);

std::string kind_name(Kind kind);

}  // namespace vfiosim::config
