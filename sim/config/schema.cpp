// JSON Schema (draft-07) generation from specs, so the published schema and the loader can
// never disagree about structure. Cross-field checks (ObjectSpec::check) and power-of-two
// constraints have no schema form; they are mentioned in descriptions.
#include "sim/config/spec.h"

namespace vfiosim::config {

namespace {

const char* kSizePattern =
    "^\\s*(0[xX][0-9a-fA-F_]+|[0-9_]+\\s*(B|K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB)?)\\s*$";

json field_schema(const Field& f);

json object_schema(const ObjectSpec& spec, const std::string* discriminator = nullptr,
                   const std::string* value = nullptr) {
  json props = json::object();
  json required = json::array();
  for (const auto& f : spec.fields()) {
    json s = field_schema(f);
    if (discriminator && value && f.name == *discriminator) s = {{"const", *value}};
    props[f.name] = std::move(s);
    if (f.required) required.push_back(f.name);
  }
  json out = {{"type", "object"}, {"properties", props}};
  if (!spec.title().empty()) out["title"] = spec.title();
  if (!spec.desc().empty()) out["description"] = spec.desc();
  if (!required.empty()) out["required"] = required;
  out["additionalProperties"] = spec.other_keys() ? field_schema(*spec.other_keys()) : json(false);
  return out;
}

json field_schema(const Field& f) {
  json s = json::object();
  switch (f.kind) {
    case Kind::Integer: s["type"] = "integer"; break;
    case Kind::Number: s["type"] = "number"; break;
    case Kind::Boolean: s["type"] = "boolean"; break;
    case Kind::String: s["type"] = "string"; break;
    case Kind::Enum: s["enum"] = f.choices; break;
    case Kind::Any: break;
    case Kind::Size:
      s["oneOf"] = json::array({json{{"type", "integer"}, {"minimum", 0}},
                                json{{"type", "string"}, {"pattern", kSizePattern}}});
      break;
    case Kind::Object: s = object_schema(*f.object); break;
    case Kind::Union: {
      json one_of = json::array();
      for (const auto& [value, spec] : f.variants->variants())
        one_of.push_back(object_schema(*spec, &f.variants->key(), &value));
      s["type"] = "object";
      s["required"] = json::array({f.variants->key()});
      s["oneOf"] = one_of;
      break;
    }
    case Kind::Array:
      s["type"] = "array";
      s["items"] = field_schema(*f.item);
      if (f.min_items) s["minItems"] = f.min_items;
      if (f.max_items) s["maxItems"] = *f.max_items;
      break;
  }
  if (f.kind == Kind::Integer || f.kind == Kind::Number) {
    if (f.min) s["minimum"] = f.kind == Kind::Integer ? json(static_cast<long long>(*f.min)) : json(*f.min);
    if (f.max) s["maximum"] = f.kind == Kind::Integer ? json(static_cast<long long>(*f.max)) : json(*f.max);
  }
  std::string desc = f.desc;
  if (!f.unit.empty()) desc += (desc.empty() ? "" : " ") + std::string("[") + f.unit + "]";
  if (f.kind == Kind::Size && (f.min || f.max || f.power_of_two)) desc += " Must be " + f.expected().substr(2) + ".";
  else if (f.power_of_two) desc += " Must be a power of two.";
  if (!desc.empty()) s["description"] = desc;
  if (!f.def.is_null()) s["default"] = f.def;
  return s;
}

}  // namespace

json to_json_schema(const ObjectSpec& root, const std::string& id, const std::string& title) {
  json s = object_schema(root);
  json out = {{"$schema", "http://json-schema.org/draft-07/schema#"}, {"$id", id}, {"title", title}};
  for (auto it = s.begin(); it != s.end(); ++it)
    if (it.key() != "title") out[it.key()] = it.value();
  return out;
}

}  // namespace vfiosim::config
