#include "sim/app/report.h"

#include <filesystem>
#include <sstream>

#include "sim/app/expect.h"
#include "sim/app/scenario_driver.h"
#include "sim/app/version.h"
#include "sim/base/units.h"
#include "sim/stats/stats.h"

namespace vfiosim {

namespace {
double ns(uint64_t ps) { return round_to(static_cast<double>(ps) / 1000.0, 3); }
}  // namespace

nlohmann::json build_report(const Scenario& scenario, const ScenarioDriver& driver, const stats::Group& stats,
                            uint64_t end_ps, const std::string& stall, const nlohmann::json& topology,
                            const nlohmann::json& events, const nlohmann::json* all_events) {
  nlohmann::json report;
  report["vfiosim"] = {{"version", kVersion}, {"report_format", kReportFormat}};
  report["scenario"] = {{"name", scenario.name},
                        {"description", scenario.description},
                        {"file", std::filesystem::path(scenario.file).filename().string()}};
  report["seed"] = scenario.seed;
  report["sim_time_ns"] = ns(end_ps);

  bool passed = stall.empty();
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : scenario.steps) {
    const StepRecord& r = driver.records()[s.index];
    std::string status = r.finished ? (!r.error.empty() ? "error" : r.expectations_pass ? "ok" : "failed")
                                    : (r.started ? "blocked" : "not_started");
    if (!r.finished || !r.expectations_pass || !r.error.empty()) passed = false;
    nlohmann::json j = {{"index", s.index}, {"name", s.name}, {"op", s.op}, {"process", s.process},
                        {"status", status}, {"outputs", r.outputs}, {"expect", r.expectations}};
    if (!r.error.empty()) j["error"] = r.error;
    if (r.started) j["start_ns"] = ns(r.start_ps);
    if (r.finished) {
      j["end_ns"] = ns(r.end_ps);
      j["duration_ns"] = ns(r.end_ps - r.start_ps);
    }
    steps.push_back(std::move(j));
  }
  report["steps"] = std::move(steps);
  report["results"] = driver.results();
  report["stats"] = {{stats.name(), stats.to_json()}};
  if (!topology.empty()) report["topology"] = topology;
  if (!events.empty()) report["events"] = events;
  if (!stall.empty()) report["stall"] = stall;

  nlohmann::json expectations = nlohmann::json::array();
  for (size_t i = 0; i < scenario.expect.size(); ++i) {
    const auto& e = scenario.expect[i];
    const bool counting = e.contains("events");
    const std::string pointer = counting ? "" : expectation_pointer(e);
    const std::string what = counting ? "events matching " + e["events"].dump()
                                      : e.contains("stat") ? e["stat"].get<std::string>() : pointer;
    const nlohmann::json actual =
        counting ? nlohmann::json(count_matching_events(all_events ? *all_events : events, e["events"]))
                 : read_report_value(report, pointer);
    nlohmann::json comparisons = nlohmann::json::object();
    for (const auto& op : expect_operators())
      if (e.contains(op)) comparisons[op] = e[op];
    const auto outcome = evaluate_expectation(what, actual, comparisons);
    if (!outcome.pass) passed = false;
    nlohmann::json j = {{"index", i}, {"what", what}, {"expected", comparisons},
                        {"actual", actual}, {"pass", outcome.pass}, {"message", outcome.message}};
    if (!counting) j["pointer"] = pointer;
    if (e.contains("description")) j["description"] = e["description"];
    expectations.push_back(std::move(j));
  }
  report["expectations"] = std::move(expectations);
  report["passed"] = passed;
  return report;
}

namespace {

std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return stats::text_number(v.get<double>());
  if (v.is_null()) return "-";
  return v.dump();
}

void table(std::ostringstream& out, const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    out << " ";
    for (size_t c = 0; c < r.size(); ++c) {
      out << ' ' << r[c] << std::string(w[c] - r[c].size(), ' ');
    }
    out << '\n';
  };
  line(head);
  for (const auto& r : rows) line(r);
}

}  // namespace

std::string render_summary(const nlohmann::json& report) {
  std::ostringstream out;
  out << "vfiosim " << report["vfiosim"]["version"].get<std::string>() << "  scenario \""
      << report["scenario"]["name"].get<std::string>() << "\"  seed " << report["seed"] << "\n";
  if (!report["scenario"]["description"].get<std::string>().empty())
    out << "  " << report["scenario"]["description"].get<std::string>() << "\n";
  out << "simulated time: " << cell(report["sim_time_ns"]) << " ns\n\n";

  out << "steps:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : report["steps"])
    rows.push_back({std::to_string(s["index"].get<int>()), s["name"], s["process"], s["op"],
                    s.contains("start_ns") ? cell(s["start_ns"]) : "-",
                    s.contains("duration_ns") ? cell(s["duration_ns"]) : "-", s["status"]});
  table(out, {"#", "name", "process", "op", "start_ns", "duration_ns", "status"}, rows);

  if (!report["results"].empty()) {
    static const std::vector<std::string> preferred = {
        "step",    "device", "mps", "direction", "pattern",        "size_bytes",     "count",          "outstanding",
        "window_bytes", "bandwidth_gbps", "latency_ns_p50", "latency_ns_p99", "errors", "data_mismatches"};
    std::vector<std::string> cols;
    for (const auto& c : preferred)
      for (const auto& r : report["results"])
        if (r.contains(c)) {
          cols.push_back(c);
          break;
        }
    rows.clear();
    for (const auto& r : report["results"]) {
      std::vector<std::string> row;
      for (const auto& c : cols) row.push_back(r.contains(c) ? cell(r[c]) : "-");
      rows.push_back(row);
    }
    out << "\nresults:\n";
    table(out, cols, rows);
  }

  size_t pass = 0, fail = 0;
  std::ostringstream failures;
  for (const auto& s : report["steps"]) {
    if (s.contains("error")) failures << "  ERROR step " << s["name"].get<std::string>() << ": " << s["error"].get<std::string>() << "\n";
    for (const auto& e : s["expect"]) {
      e["pass"].get<bool>() ? ++pass : ++fail;
      if (!e["pass"].get<bool>()) failures << "  FAIL step " << s["name"].get<std::string>() << ": " << e["message"].get<std::string>() << "\n";
    }
  }
  for (const auto& e : report["expectations"]) {
    e["pass"].get<bool>() ? ++pass : ++fail;
    if (!e["pass"].get<bool>()) failures << "  FAIL " << e["message"].get<std::string>() << "\n";
  }
  out << "\nexpectations: " << pass << " of " << (pass + fail) << " held\n" << failures.str();
  if (report.contains("stall")) out << "run did not finish: " << report["stall"].get<std::string>() << "\n";
  out << "result: " << (report["passed"].get<bool>() ? "PASS" : "FAIL") << "\n";
  return out.str();
}

}  // namespace vfiosim
