// Configuration errors that name the offending JSON pointer, and the did-you-mean helper.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace vfiosim::config {

struct Issue {
  std::string pointer;  // RFC 6901 pointer into the scenario as written ("" is the root)
  std::string message;  // what was expected and what was found
};

/// A list of configuration problems; thrown when validation fails. what() lists them all.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Issue> issues);
  ConfigError(std::string pointer, std::string message);
  const std::vector<Issue>& issues() const { return issues_; }

 private:
  static std::string render(const std::vector<Issue>& issues);
  std::vector<Issue> issues_;
};

/// Collects issues during validation, capped so one broken array does not flood the terminal.
class Issues {
 public:
  void add(std::string pointer, std::string message);
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<Issue>& list() const { return list_; }
  /// Throws ConfigError if any issue was recorded.
  void raise_if_any() const;

  static constexpr size_t kMax = 50;

 private:
  std::vector<Issue> list_;
  size_t dropped_ = 0;
};

/// `text` with control characters (and DEL) written as \n, \t or \xNN, so that an error message
/// quoting the input cannot move the cursor or recolour a terminal.
std::string printable(const std::string& text);

/// The candidate closest to `word` by edit distance, or "" if none is close enough to suggest.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

/// Escapes one reference token for a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string pointer_token(const std::string& key);
inline std::string pointer_join(const std::string& base, const std::string& key) {
  return base + "/" + pointer_token(key);
}
inline std::string pointer_join(const std::string& base, size_t index) {
  return base + "/" + std::to_string(index);
}

}  // namespace vfiosim::config
