#include "sim/config/spec.h"

#include <cmath>

#include "sim/base/units.h"

namespace vfiosim::config {

Field Field::make(std::string name, Kind kind) {
  Field f;
  f.name = std::move(name);
  f.kind = kind;
  return f;
}

Field Field::enumeration(std::string name, std::vector<std::string> choices) {
  Field f = make(std::move(name), Kind::Enum);
  f.choices = std::move(choices);
  return f;
}

Field Field::object_of(std::string name, std::shared_ptr<const ObjectSpec> spec) {
  Field f = make(std::move(name), Kind::Object);
  f.object = std::move(spec);
  return f;
}

Field Field::union_of(std::string name, std::shared_ptr<const UnionSpec> spec) {
  Field f = make(std::move(name), Kind::Union);
  f.variants = std::move(spec);
  return f;
}

Field Field::array_of(std::string name, Field item) {
  Field f = make(std::move(name), Kind::Array);
  f.item = std::make_shared<const Field>(std::move(item));
  return f;
}

namespace {
std::string number_text(double v, Kind kind) {
  if (kind == Kind::Size && v >= 1024 && std::fmod(v, 1024) == 0) return format_bytes(static_cast<uint64_t>(v));
  if (std::floor(v) == v && std::fabs(v) < 1e18) return std::to_string(static_cast<long long>(v));
  std::string s = format_fixed(v, 6);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string range_text(const Field& f) {
  std::string out;
  if (f.min && f.max) out = " between " + number_text(*f.min, f.kind) + " and " + number_text(*f.max, f.kind);
  else if (f.min) out = " \u2265 " + number_text(*f.min, f.kind);
  else if (f.max) out = " \u2264 " + number_text(*f.max, f.kind);
  if (f.power_of_two) out += " that is a power of two";
  return out;
}
}  // namespace

std::string Field::expected() const {
  switch (kind) {
    case Kind::Integer: return "an integer" + range_text(*this);
    case Kind::Number: return "a number" + range_text(*this);
    case Kind::Boolean: return "true or false";
    case Kind::String: return "a string";
    case Kind::Size: return "a size (e.g. 4096, \"0x1000\", \"4KiB\")" + range_text(*this);
    case Kind::Enum: {
      std::string s = "one of ";
      for (size_t i = 0; i < choices.size(); ++i) s += (i ? ", \"" : "\"") + choices[i] + "\"";
      return s;
    }
    case Kind::Object: return "an object";
    case Kind::Union: return "an object with a \"" + variants->key() + "\" key";
    case Kind::Array: {
      std::string s = "an array";
      if (min_items && max_items) s += " of " + std::to_string(min_items) + " to " + std::to_string(*max_items) + " items";
      else if (min_items) s += " of at least " + std::to_string(min_items) + " item" + (min_items > 1 ? "s" : "");
      else if (max_items) s += " of at most " + std::to_string(*max_items) + " items";
      return s;
    }
    case Kind::Any: return "any value";
  }
  return "a value";
}

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::Integer: return "integer";
    case Kind::Number: return "number";
    case Kind::Boolean: return "boolean";
    case Kind::String: return "string";
    case Kind::Size: return "size";
    case Kind::Enum: return "enum";
    case Kind::Object: return "object";
    case Kind::Array: return "array";
    case Kind::Union: return "object";
    case Kind::Any: return "any";
  }
  return "?";
}

ObjectSpec& ObjectSpec::add(Field field) {
  fields_.push_back(std::move(field));
  return *this;
}

ObjectSpec& ObjectSpec::allow_other_keys(Field value_spec) {
  other_ = std::make_shared<Field>(std::move(value_spec));
  return *this;
}

const Field* ObjectSpec::find(const std::string& name) const {
  for (const auto& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> ObjectSpec::names() const {
  std::vector<std::string> out;
  for (const auto& f : fields_) out.push_back(f.name);
  return out;
}

UnionSpec& UnionSpec::add(const std::string& value, std::shared_ptr<const ObjectSpec> spec) {
  variants_.emplace_back(value, std::move(spec));
  return *this;
}

const ObjectSpec* UnionSpec::find(const std::string& value) const {
  for (const auto& [name, spec] : variants_)
    if (name == value) return spec.get();
  return nullptr;
}

std::vector<std::string> UnionSpec::values() const {
  std::vector<std::string> out;
  for (const auto& v : variants_) out.push_back(v.first);
  return out;
}

void list_params(const ObjectSpec& spec, const std::string& prefix, std::vector<ParamRow>& rows) {
  for (const auto& f : spec.fields()) {
    const std::string path = prefix.empty() ? f.name : prefix + "." + f.name;
    if (f.kind == Kind::Object) {
      list_params(*f.object, path, rows);
      continue;
    }
    if (f.kind == Kind::Array && f.item && f.item->kind == Kind::Object) {
      list_params(*f.item->object, path + "[]", rows);
      continue;
    }
    ParamRow row;
    row.path = path;
    row.type = kind_name(f.kind);
    if (f.kind == Kind::Enum) {
      row.type = "";
      for (const auto& c : f.choices) row.type += (row.type.empty() ? "" : "|") + c;
    }
    row.def = f.def.is_null() ? (f.required ? "(required)" : "-")
                              : (f.def.is_string() ? f.def.get<std::string>() : f.def.dump());
    row.unit = f.unit;
    row.desc = f.desc;
    rows.push_back(std::move(row));
  }
}

}  // namespace vfiosim::config
