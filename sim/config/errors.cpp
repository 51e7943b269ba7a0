#include "sim/config/errors.h"

#include <algorithm>

namespace vfiosim::config {

ConfigError::ConfigError(std::vector<Issue> issues)
    : std::runtime_error(render(issues)), issues_(std::move(issues)) {}

ConfigError::ConfigError(std::string pointer, std::string message)
    : ConfigError(std::vector<Issue>{{printable(pointer), printable(message)}}) {}

std::string ConfigError::render(const std::vector<Issue>& issues) {
  std::string out;
  for (const auto& issue : issues) {
    if (!out.empty()) out += '\n';
    out += (issue.pointer.empty() ? std::string("/") : issue.pointer) + ": " + issue.message;
  }
  return out;
}

void Issues::add(std::string pointer, std::string message) {
  if (list_.size() >= kMax) {
    ++dropped_;
    return;
  }
  list_.push_back({printable(pointer), printable(message)});
}

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

void Issues::raise_if_any() const {
  if (list_.empty()) return;
  auto all = list_;
  if (dropped_) all.push_back({"", std::to_string(dropped_) + " further problems not shown"});
  throw ConfigError(std::move(all));
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string pointer_token(const std::string& key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace vfiosim::config
