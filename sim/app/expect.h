// Expectations: checks on step outputs ("expect" inside a step) and on the report (top-level
// "expect": a stat by dotted path or any value by JSON pointer). An expected value is either a
// plain value (equality) or an object of comparisons: {">=": 10, "<": 20}.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/config/spec.h"

namespace vfiosim {

/// The comparison operators an expectation object may use.
const std::vector<std::string>& expect_operators();

/// Checks the form of one expected value; adds issues at `pointer`.
void check_expect_value(const nlohmann::json& v, const std::string& pointer, config::Issues& issues);

struct ExpectOutcome {
  bool pass = false;
  std::string message;  // "bandwidth_gbps = 12.5, expected >= 20"
};

/// Compares an actual value with an expected value; `what` names the value in the message.
ExpectOutcome evaluate_expectation(const std::string& what, const nlohmann::json& actual,
                                   const nlohmann::json& expected);

/// The "expect" object of a step whose outputs are `outputs`.
std::shared_ptr<const config::ObjectSpec> step_expect_spec(const std::vector<config::Field>& outputs);

/// One entry of the top-level "expect" array.
std::shared_ptr<const config::ObjectSpec> report_expect_spec();

/// The report pointer a top-level expectation reads: "stat": "system.memory.reads" ->
/// "/stats/system/memory/reads"; "pointer" is used as written.
std::string expectation_pointer(const nlohmann::json& expectation);

/// How many events (report "events" entries: type, source, time_ns and the details) have every
/// key of `filter` with an equal value.
size_t count_matching_events(const nlohmann::json& events, const nlohmann::json& filter);

/// The value a pointer designates in the report; a stat object yields its "value" (or "mean").
nlohmann::json read_report_value(const nlohmann::json& report, const std::string& pointer);

}  // namespace vfiosim
