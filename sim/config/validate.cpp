// Validation and resolution of configuration values against their specs (layer 1 -> layer 2).
#include <cmath>
#include <limits>

#include "sim/base/units.h"
#include "sim/config/spec.h"

namespace vfiosim::config {

namespace {

// What a rejected value is, quoted only when it is a scalar (a container is never dumped: it may
// be large or deeply nested).
std::string got(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_null()) return "null";
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return v.is_string() ? "the string " + text : text;
}

void mismatch(const Field& f, const json& v, const std::string& ptr, Issues& issues) {
  issues.add(ptr, "expected " + f.expected() + ", got " + got(v));
}

bool in_range(const Field& f, double v) {
  if (f.min && v < *f.min) return false;
  if (f.max && v > *f.max) return false;
  return true;
}

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

json resolve_object(const ObjectSpec& spec, const json& in, const std::string& ptr, Issues& issues) {
  json out = json::object();
  const size_t before = issues.size();
  for (auto it = in.begin(); it != in.end(); ++it) {
    if (spec.find(it.key())) continue;
    if (const Field* other = spec.other_keys()) {
      out[it.key()] = resolve(*other, it.value(), pointer_join(ptr, it.key()), issues);
      continue;
    }
    std::string msg = "unknown key \"" + it.key() + "\"";
    const std::string hint = did_you_mean(it.key(), spec.names());
    if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
    else if (!spec.fields().empty()) {
      msg += "; allowed:";
      for (const auto& n : spec.names()) msg += " " + n;
    }
    issues.add(pointer_join(ptr, it.key()), msg);
  }
  for (const auto& f : spec.fields()) {
    const std::string child = pointer_join(ptr, f.name);
    auto it = in.find(f.name);
    if (it != in.end()) {
      out[f.name] = resolve(f, *it, child, issues);
    } else if (f.required) {
      issues.add(ptr, "missing required key \"" + f.name + "\" (" + f.expected() + ")");
    } else if (!f.def.is_null()) {
      out[f.name] = resolve(f, f.def, child, issues);
    }
  }
  if (issues.size() == before)
    for (const auto& check : spec.checks()) check(out, ptr, issues);
  return out;
}

}  // namespace

json resolve(const Field& f, const json& v, const std::string& ptr, Issues& issues) {
  switch (f.kind) {
    case Kind::Any:
      return v;
    case Kind::Boolean:
      if (!v.is_boolean()) mismatch(f, v, ptr, issues);
      return v;
    case Kind::String:
      if (!v.is_string()) mismatch(f, v, ptr, issues);
      return v;
    case Kind::Enum: {
      if (!v.is_string()) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      const auto s = v.get<std::string>();
      for (const auto& c : f.choices)
        if (c == s) return v;
      std::string msg = "expected " + f.expected() + ", got \"" + s + "\"";
      const std::string hint = did_you_mean(s, f.choices);
      if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
      issues.add(ptr, msg);
      return v;
    }
    case Kind::Integer: {
      if (!v.is_number_integer()) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      const double d = v.is_number_unsigned() ? static_cast<double>(v.get<uint64_t>())
                                              : static_cast<double>(v.get<int64_t>());
      if (!in_range(f, d) || (f.power_of_two && !(d > 0 && is_pow2(v.get<uint64_t>()))))
        mismatch(f, v, ptr, issues);
      return v;
    }
    case Kind::Number: {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || !in_range(f, v.get<double>()))
        mismatch(f, v, ptr, issues);
      return v;
    }
    case Kind::Size: {
      std::optional<uint64_t> n;
      if (v.is_number_unsigned()) n = v.get<uint64_t>();
      else if (v.is_number_integer() && v.get<int64_t>() >= 0) n = static_cast<uint64_t>(v.get<int64_t>());
      else if (v.is_string()) n = parse_size(v.get<std::string>());
      if (!n || !in_range(f, static_cast<double>(*n)) || (f.power_of_two && !is_pow2(*n))) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      return *n;
    }
    case Kind::Object:
      if (!v.is_object()) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      return resolve_object(*f.object, v, ptr, issues);
    case Kind::Union: {
      if (!v.is_object()) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      const auto& key = f.variants->key();
      auto it = v.find(key);
      if (it == v.end() || !it->is_string()) {
        std::string msg = "missing \"" + key + "\": expected one of";
        for (const auto& name : f.variants->values()) msg += " " + name;
        issues.add(ptr, msg);
        return v;
      }
      const auto name = it->get<std::string>();
      const ObjectSpec* spec = f.variants->find(name);
      if (!spec) {
        std::string msg = "unknown " + key + " \"" + name + "\"";
        const std::string hint = did_you_mean(name, f.variants->values());
        if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
        issues.add(pointer_join(ptr, key), msg);
        return v;
      }
      return resolve_object(*spec, v, ptr, issues);
    }
    case Kind::Array: {
      if (!v.is_array()) {
        mismatch(f, v, ptr, issues);
        return v;
      }
      if (v.size() < f.min_items || (f.max_items && v.size() > *f.max_items)) {
        issues.add(ptr, "expected " + f.expected() + ", got " + std::to_string(v.size()));
        return v;
      }
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i) out.push_back(resolve(*f.item, v[i], pointer_join(ptr, i), issues));
      return out;
    }
  }
  return v;
}

json resolve_document(const std::shared_ptr<const ObjectSpec>& root, const json& input) {
  Issues issues;
  const Field field = Field::object_of("", root);
  json out = resolve(field, input, "", issues);
  issues.raise_if_any();
  return out;
}

}  // namespace vfiosim::config
