#include <algorithm>
#include "sim/config/overrides.h"

#include <cctype>

#include "sim/config/errors.h"
#include "sim/config/json_file.h"

namespace vfiosim::config {

std::string override_pointer(const std::string& path) {
  if (path.empty()) throw ConfigError("--set", "empty parameter path");
  if (path[0] == '/') return path;
  std::string ptr;
  std::string token;
  auto flush = [&] {
    if (token.empty()) throw ConfigError("--set " + path, "empty component in parameter path");
    ptr = pointer_join(ptr, token);
    token.clear();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.') {
      if (i > 0 && path[i - 1] == ']') continue;
      flush();
    } else if (c == '[') {
      flush();
      const size_t close = path.find(']', i);
      if (close == std::string::npos) throw ConfigError("--set " + path, "unclosed '['");
      token = path.substr(i + 1, close - i - 1);
      if (token.empty() || !std::all_of(token.begin(), token.end(), [](char d) { return std::isdigit(d); }))
        throw ConfigError("--set " + path, "array index must be a number");
      flush();
      i = close;
    } else {
      token += c;
    }
  }
  if (!token.empty()) flush();
  return ptr;
}

void apply_override(nlohmann::json& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw ConfigError("--set " + assignment, "expected path=value (e.g. platform.memory.latency_cycles=120)");
  const std::string ptr = override_pointer(assignment.substr(0, eq));
  const std::string text = assignment.substr(eq + 1);
  try {
    check_json_depth(text);
  } catch (const JsonSyntaxError& e) {
    throw ConfigError("--set " + assignment.substr(0, eq), "value " + e.detail());
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  // Walk the pointer, creating objects on the way; arrays must already be long enough.
  nlohmann::json* node = &doc;
  size_t pos = 1;
  std::string walked;
  while (pos <= ptr.size()) {
    const size_t next = ptr.find('/', pos);
    std::string tok = ptr.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    for (size_t k; (k = tok.find("~1")) != std::string::npos;) tok.replace(k, 2, "/");
    for (size_t k; (k = tok.find("~0")) != std::string::npos;) tok.replace(k, 2, "~");
    if (node->is_array()) {
      if (tok.empty() || !std::all_of(tok.begin(), tok.end(), [](char d) { return std::isdigit(d); }))
        throw ConfigError(walked, "--set: \"" + tok + "\" is not an index into this array");
      const size_t idx = std::stoul(tok);
      if (idx >= node->size())
        throw ConfigError(walked, "--set: index " + tok + " is past the end of an array of " +
                                      std::to_string(node->size()));
      node = &(*node)[idx];
    } else {
      if (node->is_null()) *node = nlohmann::json::object();
      if (!node->is_object()) throw ConfigError(walked, "--set: cannot descend into a non-object value");
      node = &(*node)[tok];
    }
    walked = pointer_join(walked, tok);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  *node = std::move(value);
}

}  // namespace vfiosim::config
