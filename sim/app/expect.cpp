#include "sim/app/expect.h"

#include <cmath>

#include "sim/stats/stats.h"

namespace vfiosim {

const std::vector<std::string>& expect_operators() {
  static const std::vector<std::string> ops = {"==", "!=", "<", "<=", ">", ">="};
  return ops;
}

namespace {
bool is_operator(const std::string& k) {
  for (const auto& op : expect_operators())
    if (op == k) return true;
  return false;
}

std::string show(const nlohmann::json& v) {
  if (v.is_number_float()) return stats::text_number(v.get<double>());
  return v.dump();
}

template <typename T>
bool ordered(const std::string& op, T x, T y) {
  if (op == "==") return x == y;
  if (op == "!=") return x != y;
  if (op == "<") return x < y;
  if (op == "<=") return x <= y;
  if (op == ">") return x > y;
  return x >= y;
}

bool compare(const std::string& op, const nlohmann::json& a, const nlohmann::json& b, std::string& err) {
  if (a.is_number() && b.is_number()) {
    // Integers compare exactly (long double holds every 64-bit value); mixed compare as doubles.
    if (a.is_number_integer() && b.is_number_integer()) {
      auto exact = [](const nlohmann::json& v) {
        return v.is_number_unsigned() ? static_cast<long double>(v.get<uint64_t>())
                                      : static_cast<long double>(v.get<int64_t>());
      };
      return ordered(op, exact(a), exact(b));
    }
    return ordered(op, a.get<double>(), b.get<double>());
  }
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  err = "cannot order " + show(a) + " and " + show(b);
  return false;
}
}  // namespace

void check_expect_value(const nlohmann::json& v, const std::string& ptr, config::Issues& issues) {
  if (!v.is_object()) return;  // a plain value (arrays too) is compared for equality
  if (v.empty()) issues.add(ptr, "expected at least one comparison (== != < <= > >=)");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!is_operator(it.key())) {
      issues.add(config::pointer_join(ptr, it.key()),
                 "unknown comparison \"" + it.key() + "\"; expected one of == != < <= > >=");
      continue;
    }
    if (it->is_object() || (it->is_array() && it.key() != "==" && it.key() != "!="))
      issues.add(config::pointer_join(ptr, it.key()), "expected a number, string, boolean or null");
    else if (it.key() != "==" && it.key() != "!=" && !it->is_number())
      issues.add(config::pointer_join(ptr, it.key()), "expected a number for an ordering comparison, got " + it->dump());
  }
}

ExpectOutcome evaluate_expectation(const std::string& what, const nlohmann::json& actual,
                                   const nlohmann::json& expected) {
  ExpectOutcome out{true, ""};
  const nlohmann::json checks = expected.is_object() ? expected : nlohmann::json{{"==", expected}};
  std::string failed;
  for (auto it = checks.begin(); it != checks.end(); ++it) {
    std::string err;
    if (actual.is_null() || !compare(it.key(), actual, it.value(), err)) {
      out.pass = false;
      failed += (failed.empty() ? "" : " and ") + it.key() + " " + show(it.value());
      if (!err.empty()) failed += " (" + err + ")";
    }
  }
  out.message = what + " = " + (actual.is_null() ? std::string("(absent)") : show(actual)) +
                (out.pass ? ", as expected" : ", expected " + failed);
  return out;
}

std::shared_ptr<const config::ObjectSpec> step_expect_spec(const std::vector<config::Field>& outputs) {
  auto s = std::make_shared<config::ObjectSpec>("expect", "Expected step outputs: a value, or {op: value}");
  for (const auto& o : outputs) {
    auto f = config::Field::any(o.name);
    f.desc = o.desc;
    f.unit = o.unit;
    s->add(f);
  }
  s->check([](const nlohmann::json& r, const std::string& ptr, config::Issues& issues) {
    for (auto it = r.begin(); it != r.end(); ++it)
      check_expect_value(it.value(), config::pointer_join(ptr, it.key()), issues);
  });
  return s;
}

std::shared_ptr<const config::ObjectSpec> report_expect_spec() {
  using config::Field;
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>(
        "expectation", "A check on the report after the run: a stat by dotted path, or any value by JSON pointer");
    s->add(Field::string("stat").describe("Dotted stat path, e.g. system.memory.bytes_read or system.dma0.latency.p99"));
    s->add(Field::string("pointer").describe("JSON pointer into report.json, e.g. /results/0/bandwidth_gbps"));
    s->add(Field::any("events").describe("Counts the events with these fields (type, source, details), e.g. "
                                         "{\"type\": \"dmar_fault\"} with \"==\": 0 for none"));
    s->add(Field::string("description").describe("What this checks, shown in the summary"));
    for (const auto& op : expect_operators()) s->add(Field::any(op).describe("Comparison with the actual value"));
    s->check([](const nlohmann::json& r, const std::string& ptr, config::Issues& issues) {
      const bool stat = r.contains("stat"), pointer = r.contains("pointer"), events = r.contains("events");
      if (int(stat) + int(pointer) + int(events) != 1)
        issues.add(ptr, "expected exactly one of \"stat\", \"pointer\" or \"events\"");
      if (events && !r["events"].is_object())
        issues.add(ptr + "/events", "expected an object of event fields to match, e.g. {\"type\": \"dmar_fault\"}");
      if (stat && r["stat"].get<std::string>().rfind("system.", 0) != 0)
        issues.add(ptr + "/stat", "stat paths start at \"system.\", got \"" + r["stat"].get<std::string>() + "\"");
      if (pointer && r["pointer"].get<std::string>().rfind('/', 0) != 0)
        issues.add(ptr + "/pointer", "a JSON pointer starts with \"/\", got \"" + r["pointer"].get<std::string>() + "\"");
      nlohmann::json comparisons = nlohmann::json::object();
      for (const auto& op : expect_operators())
        if (r.contains(op)) comparisons[op] = r[op];
      if (comparisons.empty()) issues.add(ptr, "expected at least one comparison (== != < <= > >=)");
      else check_expect_value(comparisons, ptr, issues);
    });
    return s;
  }();
  return spec;
}

size_t count_matching_events(const nlohmann::json& events, const nlohmann::json& filter) {
  size_t n = 0;
  if (!events.is_array() || !filter.is_object()) return 0;
  for (const auto& ev : events) {
    bool all = true;
    for (auto it = filter.begin(); it != filter.end() && all; ++it) all = ev.contains(it.key()) && ev[it.key()] == *it;
    n += all;
  }
  return n;
}

std::string expectation_pointer(const nlohmann::json& e) {
  if (e.contains("pointer")) return e["pointer"].get<std::string>();
  std::string ptr = "/stats";
  const std::string path = e["stat"].get<std::string>();
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    ptr = config::pointer_join(ptr, path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return ptr;
}

nlohmann::json read_report_value(const nlohmann::json& report, const std::string& pointer) {
  try {
    const nlohmann::json::json_pointer p(pointer);
    if (!report.contains(p)) return nullptr;
    const auto& v = report.at(p);
    if (v.is_object() && v.contains("unit")) {
      if (v.contains("value")) return v["value"];
      if (v.contains("mean")) return v["mean"];
    }
    return v;
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

}  // namespace vfiosim
