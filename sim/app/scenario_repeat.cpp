#include "sim/app/scenario_repeat.h"

#include <cctype>

namespace vfiosim {

namespace {

using nlohmann::json;
using Vars = std::map<std::string, int64_t>;

// A recursive-descent evaluator over the expression text.
class ExprParser {
 public:
  ExprParser(const std::string& text, const Vars& vars) : s_(text), vars_(vars) {}

  bool parse(int64_t& out, std::string& error) {
    out = shift();
    skip();
    if (error_.empty() && pos_ != s_.size()) fail("unexpected '" + s_.substr(pos_, 1) + "'");
    error = error_;
    return error_.empty();
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(const char* tok) {
    skip();
    const std::string t(tok);
    if (s_.compare(pos_, t.size(), t) != 0) return false;
    pos_ += t.size();
    return true;
  }
  int64_t fail(const std::string& why) {
    if (error_.empty()) error_ = why;
    return 0;
  }
  // a op b, or an error when it overflows.
  template <typename Op>
  int64_t checked(int64_t a, int64_t b, Op op) {
    int64_t r = 0;
    if (op(a, b, &r)) return fail("arithmetic overflow");
    return r;
  }

  int64_t shift() {
    int64_t v = sum();
    for (;;) {
      if (eat("<<")) {
        const int64_t r = sum();
        if (r < 0 || r > 62 || v < 0 || (v >> (62 - r)) != 0) return fail("shift out of range");
        v <<= r;
      } else if (eat(">>")) {
        const int64_t r = sum();
        if (r < 0 || r > 63) return fail("shift out of range");
        v >>= r;
      } else {
        return v;
      }
    }
  }
  int64_t sum() {
    int64_t v = product();
    for (;;) {
      if (eat("+")) v = checked(v, product(), [](int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); });
      else if (eat("-")) v = checked(v, product(), [](int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); });
      else return v;
    }
  }
  int64_t product() {
    int64_t v = unary();
    for (;;) {
      if (eat("*")) {
        v = checked(v, unary(), [](int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); });
      } else if (eat("/") || eat("%")) {
        const bool mod = s_[pos_ - 1] == '%';
        const int64_t d = unary();
        if (d == 0) return fail("division by zero");
        if (v == INT64_MIN && d == -1) return fail("arithmetic overflow");
        v = mod ? v % d : v / d;
      } else {
        return v;
      }
    }
  }
  int64_t unary() {
    if (eat("-")) {
      const int64_t v = unary();
      return v == INT64_MIN ? fail("arithmetic overflow") : -v;
    }
    return primary();
  }
  int64_t primary() {
    skip();
    if (!error_.empty()) return 0;
    if (eat("(")) {
      const int64_t v = shift();
      if (!eat(")")) return fail("missing ')'");
      return v;
    }
    if (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      const size_t start = pos_;
      int base = 10;
      if (s_.compare(pos_, 2, "0x") == 0 || s_.compare(pos_, 2, "0X") == 0) {
        base = 16;
        pos_ += 2;
      }
      uint64_t v = 0;
      size_t digits = 0;
      while (pos_ < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[pos_]))) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_])));
        const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : c - 'a' + 10;
        if (d >= base) break;
        if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
          return fail("number too large: " + s_.substr(start, pos_ - start + 1));
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
        ++pos_;
        ++digits;
      }
      if (!digits) return fail("malformed number");
      return static_cast<int64_t>(v);
    }
    if (pos_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
      const size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      const std::string name = s_.substr(start, pos_ - start);
      auto it = vars_.find(name);
      if (it == vars_.end()) return fail("unknown variable \"" + name + "\"");
      return it->second;
    }
    return fail(pos_ < s_.size() ? "unexpected '" + s_.substr(pos_, 1) + "'" : "expression ends early");
  }

  const std::string& s_;
  const Vars& vars_;
  size_t pos_ = 0;
  std::string error_;
};

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

std::string binding_text(const std::vector<std::pair<std::string, int64_t>>& scope) {
  std::string out;
  for (const auto& [name, v] : scope) out += (out.empty() ? "" : ", ") + name + "=" + std::to_string(v);
  return out;
}

class Expander {
 public:
  Expander(std::vector<StepOrigin>& origins, config::Issues& issues) : origins_(origins), issues_(issues) {}

  void steps(const json& list, const std::string& ptr, const std::string& process, json& out) {
    for (size_t i = 0; i < list.size() && !too_many_; ++i) step(list[i], ptr + "/" + std::to_string(i), process, out);
  }

 private:
  // "${expr}" alone: the number; "${...}" inside text: interpolated. Other values as they are.
  json substitute(const json& v, const std::string& ptr) {
    if (v.is_object()) {
      json out = json::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = substitute(*it, config::pointer_join(ptr, it.key()));
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i) out.push_back(substitute(v[i], config::pointer_join(ptr, i)));
      return out;
    }
    if (!v.is_string() || scope_.empty()) return v;
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find("${") == std::string::npos) return v;
    std::string text;
    size_t pos = 0;
    bool whole = false;
    int64_t last = 0;
    while (pos < s.size()) {
      const size_t open = s.find("${", pos);
      if (open == std::string::npos) {
        text += s.substr(pos);
        break;
      }
      const size_t close = s.find('}', open);
      if (close == std::string::npos) {
        issue(ptr, "unterminated \"${\" in " + json(s).dump());
        return v;
      }
      text += s.substr(pos, open - pos);
      std::string error;
      if (!eval_repeat_expr(s.substr(open + 2, close - open - 2), vars_, last, error)) {
        issue(ptr, error + " in " + json(s).dump());
        return v;
      }
      text += std::to_string(last);
      whole = open == 0 && close == s.size() - 1;
      pos = close + 1;
    }
    return whole ? json(last) : json(text);
  }

  void issue(const std::string& ptr, const std::string& message) {
    const std::string b = binding_text(scope_);
    issues_.add(ptr, (b.empty() ? "" : "[" + b + "] ") + message);
  }

  void step(const json& s, const std::string& ptr, const std::string& process, json& out) {
    if (!s.is_object() || !s.contains("op") || s["op"] != "repeat") {
      json e = substitute(s, ptr);
      if (e.is_object() && !process.empty() && !e.contains("process")) e["process"] = process;
      if (out.size() >= kMaxExpandedSteps) {
        issues_.add(ptr, "the scenario expands to more than " + std::to_string(kMaxExpandedSteps) + " steps");
        too_many_ = true;
        return;
      }
      out.push_back(std::move(e));
      origins_.push_back({ptr, binding_text(scope_)});
      return;
    }
    bool ok = true;
    for (auto it = s.begin(); it != s.end(); ++it)
      if (it.key() != "op" && it.key() != "count" && it.key() != "var" && it.key() != "steps" &&
          it.key() != "name" && it.key() != "comment" && it.key() != "process") {
        issue(config::pointer_join(ptr, it.key()), "unknown field \"" + config::printable(it.key()) +
                                                       "\" (a repeat has count, var, steps, process, name, comment)");
        ok = false;
      }
    const json count = s.contains("count") ? substitute(s["count"], ptr + "/count") : json();
    if (!count.is_number_integer() || count.get<int64_t>() < 0 ||
        count.get<int64_t>() > static_cast<int64_t>(kMaxExpandedSteps)) {
      issue(ptr + "/count", "expected a number of iterations from 0 to " + std::to_string(kMaxExpandedSteps));
      ok = false;
    }
    const std::string var = s.contains("var") && s["var"].is_string() ? s["var"].get<std::string>() : "i";
    if (s.contains("var") && (!s["var"].is_string() || !is_identifier(var) || vars_.count(var))) {
      issue(ptr + "/var", "expected a variable name (letters, digits, _) not used by an enclosing repeat");
      ok = false;
    }
    if (!s.contains("steps") || !s["steps"].is_array() || s["steps"].empty()) {
      issue(ptr + "/steps", "expected a non-empty array of steps");
      ok = false;
    }
    std::string proc = process;
    if (s.contains("process")) {
      if (s["process"].is_string()) proc = s["process"].get<std::string>();
      else {
        issue(ptr + "/process", "expected a process name");
        ok = false;
      }
    }
    if (!ok) return;
    const int64_t n = count.get<int64_t>();
    for (int64_t k = 0; k < n && !too_many_; ++k) {
      vars_[var] = k;
      scope_.emplace_back(var, k);
      const size_t before = issues_.size();
      steps(s["steps"], ptr + "/steps", proc, out);
      scope_.pop_back();
      if (issues_.size() > before) break;  // the same mistake in every iteration: say it once
    }
    vars_.erase(var);
  }

  std::vector<StepOrigin>& origins_;
  config::Issues& issues_;
  Vars vars_;
  std::vector<std::pair<std::string, int64_t>> scope_;
  bool too_many_ = false;
};

}  // namespace

bool eval_repeat_expr(const std::string& expr, const Vars& vars, int64_t& value, std::string& error) {
  return ExprParser(expr, vars).parse(value, error);
}

json expand_repeats(const json& steps, std::vector<StepOrigin>& origins, config::Issues& issues) {
  json out = json::array();
  if (!steps.is_array()) return steps;
  Expander(origins, issues).steps(steps, "/steps", "", out);
  return out;
}

config::Issue map_expanded_issue(const config::Issue& issue, const std::vector<StepOrigin>& origins) {
  const std::string prefix = "/steps/";
  if (issue.pointer.compare(0, prefix.size(), prefix) != 0) return issue;
  const size_t end = issue.pointer.find('/', prefix.size());
  const std::string index = issue.pointer.substr(prefix.size(), end - prefix.size());
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) return issue;
  const size_t i = std::stoul(index);
  if (i >= origins.size()) return issue;
  const StepOrigin& o = origins[i];
  config::Issue out;
  out.pointer = o.pointer + (end == std::string::npos ? "" : issue.pointer.substr(end));
  out.message = (o.binding.empty() ? "" : "[" + o.binding + "] ") + issue.message;
  return out;
}

}  // namespace vfiosim
