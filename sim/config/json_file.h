// Reading JSON documents with precise syntax errors (line and column) and duplicate-key detection
// (nlohmann keeps the last duplicate silently; a scenario with two "memory" keys is a mistake).
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace vfiosim::config {

class JsonSyntaxError : public std::runtime_error {
 public:
  JsonSyntaxError(size_t line, size_t column, const std::string& message);
  size_t line() const { return line_; }
  size_t column() const { return column_; }
  /// The message without the position.
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
  size_t line_;
  size_t column_;
};

/// How deep arrays and objects may nest in any document the simulator reads (scenarios, --set
/// values): far beyond any real scenario, far below what recursion on the host stack survives.
inline constexpr size_t kMaxJsonDepth = 128;

/// Throws JsonSyntaxError at the bracket that opens level max_depth + 1.
void check_json_depth(const std::string& text, size_t max_depth = kMaxJsonDepth);

/// Parses text; throws JsonSyntaxError on bad syntax or too deep nesting, and ConfigError on
/// duplicate keys.
nlohmann::json parse_json(const std::string& text);

/// Reads and parses a file; throws std::runtime_error when it cannot be read.
nlohmann::json load_json_file(const std::string& path);

std::string read_text_file(const std::string& path);

}  // namespace vfiosim::config
