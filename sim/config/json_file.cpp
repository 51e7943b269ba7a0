#include "sim/config/json_file.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "sim/config/errors.h"

namespace vfiosim::config {

JsonSyntaxError::JsonSyntaxError(size_t line, size_t column, const std::string& message)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         printable(message)),
      detail_(printable(message)),
      line_(line),
      column_(column) {}

namespace {

struct Frame {
  bool is_object;
  std::set<std::string> keys;
  std::string key;
  size_t index = 0;
};

std::string pointer_of(const std::vector<Frame>& stack) {
  std::string p;
  for (const auto& f : stack) {
    if (f.is_object) p = pointer_join(p, f.key);
    else p = pointer_join(p, f.index);
  }
  return p;
}

void count_element(std::vector<Frame>& stack) {
  if (!stack.empty() && !stack.back().is_object) ++stack.back().index;
}

// Strips nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
std::string clean_message(const std::string& what) {
  const auto colon = what.find(": ");
  std::string msg = colon == std::string::npos ? what : what.substr(colon + 2);
  return msg;
}

}  // namespace

void check_json_depth(const std::string& text, size_t max_depth) {
  size_t depth = 0, line = 1, col = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (c == '\n') {
      ++line;
      col = 0;
    } else {
      ++col;
    }
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw JsonSyntaxError(line, col, "nested deeper than " + std::to_string(max_depth) + " levels");
    } else if ((c == ']' || c == '}') && depth) {
      --depth;
    }
  }
}

nlohmann::json parse_json(const std::string& text) {
  check_json_depth(text);  // before the parser builds (and anything walks) a deep tree
  std::vector<Frame> stack;
  Issues dups;
  using E = nlohmann::json::parse_event_t;
  auto cb = [&](int /*depth*/, E event, nlohmann::json& parsed) {
    switch (event) {
      case E::object_start: stack.push_back({true, {}, {}, 0}); break;
      case E::array_start: stack.push_back({false, {}, {}, 0}); break;
      case E::key: {
        auto& top = stack.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          dups.add(pointer_of(stack), "duplicate key \"" + top.key + "\"");
        break;
      }
      case E::object_end:
      case E::array_end:
        stack.pop_back();
        count_element(stack);
        break;
      case E::value: count_element(stack); break;
    }
    return true;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1, col = 1;
    const size_t end = std::min<size_t>(e.byte ? e.byte - 1 : 0, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw JsonSyntaxError(line, col, clean_message(e.what()));
  }
  dups.raise_if_any();
  return doc;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json load_json_file(const std::string& path) { return parse_json(read_text_file(path)); }

}  // namespace vfiosim::config
