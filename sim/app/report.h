// The report of a run: report.json (machine-readable, byte-identical for the same scenario and
// seed: no wall-clock time, host name or path in it) and the human summary derived from it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sim/app/scenario.h"
#include "sim/stats/group.h"

namespace vfiosim {

class ScenarioDriver;

constexpr int kReportFormat = 1;

/// `stall` is empty for a run that finished, otherwise why steps did not finish. `events` is the
/// report's (capped) event list; `all_events`, when given, every event, for expectations that
/// count events.
nlohmann::json build_report(const Scenario& scenario, const ScenarioDriver& driver, const stats::Group& stats,
                            uint64_t end_ps, const std::string& stall, const nlohmann::json& topology,
                            const nlohmann::json& events = nlohmann::json::array(),
                            const nlohmann::json* all_events = nullptr);

std::string render_summary(const nlohmann::json& report);

}  // namespace vfiosim
