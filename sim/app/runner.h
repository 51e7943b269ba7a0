// Runs a prepared scenario: elaborates the platform, starts one simulated thread per scenario
// process, advances simulated time in slices (printing a heartbeat on stderr), then evaluates
// expectations and builds the report. One run per OS process (SystemC elaborates once).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/app/scenario.h"

namespace vfiosim {

struct RunOptions {
  std::string out_dir;                  // where report.json etc. go; empty: nowhere
  bool trace = false;                   // write trace.json (needs out_dir)
  std::optional<uint64_t> max_time_ps;  // stop simulating at this simulated time
  double heartbeat_s = 5.0;             // wall seconds between progress lines; 0: none
};

struct RunResult {
  nlohmann::json report;
  std::string summary;     // summary.txt
  std::string stats_text;  // stats.txt
  bool passed = false;     // every step finished and every expectation held
  uint64_t sim_ps = 0;
  double wall_s = 0;
};

/// Throws config::ConfigError for problems only visible after elaboration (an expectation naming
/// a stat that does not exist), before simulated time starts.
RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

/// Writes report.json, summary.txt, stats.txt and config.json into `dir` (created if missing).
void write_run_directory(const std::string& dir, const Scenario& scenario, const RunResult& result);

}  // namespace vfiosim
