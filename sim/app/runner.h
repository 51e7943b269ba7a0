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
  std::optional<double> max_wall_s;     // stop at the next slice after this much wall time
  /// SIGINT and SIGTERM stop the run at the next slice and it is reported as interrupted (a
  /// second signal ends the process at once).
  bool handle_signals = false;
};

struct RunResult {
  nlohmann::json report;
  std::string summary;     // summary.txt
  std::string stats_text;  // stats.txt
  bool passed = false;     // every step finished and every expectation held
  uint64_t sim_ps = 0;
  double wall_s = 0;
  int signal = 0;          // SIGINT or SIGTERM when a signal interrupted the run, else 0
};

/// Throws config::ConfigError for problems only visible after elaboration (an expectation naming
/// a stat that does not exist), before simulated time starts.
RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

/// Everything `run` checks before time starts, without running: elaborates the platform and the
/// userspace processes (each step's prepare) and resolves the stats named in `expect`. Throws
/// config::ConfigError. SystemC elaborates once per process, so call it in a process of its own.
void check_elaboration(const Scenario& scenario);

/// Writes report.json, summary.txt, stats.txt and config.json into `dir` (created if missing).
void write_run_directory(const std::string& dir, const Scenario& scenario, const RunResult& result);

}  // namespace vfiosim
