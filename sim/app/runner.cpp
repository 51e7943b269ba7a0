#include "sim/app/runner.h"

#include "vfio/linux/lib/fault-inject.h"

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "sim/app/expect.h"
#include "sim/app/platform.h"
#include "sim/app/report.h"
#include "sim/app/scenario_driver.h"
#include "sim/base/clock.h"
#include "sim/base/log.h"
#include "sim/base/trace_writer.h"
#include "sim/base/units.h"
#include "sim/config/errors.h"

namespace vfiosim {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

volatile std::sig_atomic_t g_signal = 0;

// The first SIGINT/SIGTERM asks the run to stop at the next slice; a second one ends the process
// at once with the default action.
extern "C" void on_stop_signal(int sig) {
  if (g_signal) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal = sig;
}

// Restores the previous handlers when the run is over.
class SignalScope {
 public:
  explicit SignalScope(bool enable) : enabled_(enable) {
    if (!enabled_) return;
    g_signal = 0;
    old_int_ = std::signal(SIGINT, on_stop_signal);
    old_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~SignalScope() {
    if (!enabled_) return;
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  bool enabled_;
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

enum class Stop { Finished, TimeLimit, WallLimit, Signal };

// Advances simulated time in slices so a heartbeat can be printed and the limits and signals
// honoured between slices, without any periodic simulation event.
Stop simulate(const RunOptions& options) {
  const auto wall0 = Clock::now();
  auto last_beat = wall0;
  const uint64_t slice_ps = 10'000'000;  // 10 us of simulated time per slice
  sc_core::sc_start(sc_core::SC_ZERO_TIME);
  while (sc_core::sc_pending_activity()) {
    if (g_signal) return Stop::Signal;
    if (options.max_wall_s && seconds_since(wall0) >= *options.max_wall_s) return Stop::WallLimit;
    const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
    const uint64_t next_event = now + ClockDomain::to_ps(sc_core::sc_time_to_pending_activity());
    // Run at least to the next event (starvation exit would otherwise not advance time), and
    // never past the time limit.
    uint64_t target = std::max(now + slice_ps, next_event);
    if (options.max_time_ps) {
      if (next_event > *options.max_time_ps) return Stop::TimeLimit;
      target = std::min(target, *options.max_time_ps);
    }
    sc_core::sc_start(ClockDomain::to_time(target - now), sc_core::SC_EXIT_ON_STARVATION);
    if (options.heartbeat_s > 0 && std::chrono::duration<double>(Clock::now() - last_beat).count() >= options.heartbeat_s) {
      last_beat = Clock::now();
      log::write(log::Level::Info, "progress: simulated " + format_ns(ClockDomain::to_ps(sc_core::sc_time_stamp())) +
                                       " ns in " + format_fixed(seconds_since(wall0), 1) + " s of wall time");
    }
  }
  return g_signal ? Stop::Signal : Stop::Finished;
}

// Unwinds every thread still suspended in the middle of its work (a run stopped by the time limit
// or a deadlock), so their stack objects are destroyed rather than leaked.
void kill_suspended_threads() {
  std::vector<sc_core::sc_process_handle> handles;
  auto collect = [&](auto&& self, const std::vector<sc_core::sc_object*>& objects) -> void {
    for (sc_core::sc_object* o : objects) {
      sc_core::sc_process_handle h(o);
      if (h.valid() && h.proc_kind() == sc_core::SC_THREAD_PROC_ && !h.terminated()) handles.push_back(h);
      self(self, o->get_child_objects());
    }
  };
  collect(collect, sc_core::sc_get_top_level_objects());
  if (handles.empty()) return;
  // SystemC kills only from inside a process: a reaper thread does it, in one delta cycle.
  sc_core::sc_spawn(
      [handles]() mutable {
        for (auto& h : handles)
          if (!h.terminated()) h.kill();
      },
      "reaper");
  sc_core::sc_start(sc_core::SC_ZERO_TIME);
}

void check_stat_references(const Scenario& scenario, const stats::Group& root) {
  config::Issues issues;
  for (size_t i = 0; i < scenario.expect.size(); ++i) {
    const auto& e = scenario.expect[i];
    if (!e.contains("stat")) continue;
    const auto path = e["stat"].get<std::string>();
    const auto rel = path.substr(std::string("system.").size());
    // A histogram field ("system.dma0.latency.p99") names a stat plus one of its summary keys.
    bool found = root.lookup(rel) != nullptr;
    const auto dot = rel.rfind('.');
    if (!found && dot != std::string::npos) {
      const auto* stat = root.lookup(rel.substr(0, dot));
      found = stat && stat->to_json().contains(rel.substr(dot + 1));
    }
    if (!found) issues.add("/expect/" + std::to_string(i) + "/stat", "no stat named \"" + path + "\"");
  }
  issues.raise_if_any();
}

}  // namespace

void check_elaboration(const Scenario& scenario) {
  stats::Group root("system");
  Platform platform("system", scenario.platform, root, scenario.seed, nullptr);
  ScenarioDriver driver("userspace", scenario, platform, nullptr);
  check_stat_references(scenario, root);
}

// The report lists at most this many events (in time order); stats count them all.
constexpr size_t kMaxReportedEvents = 1000;

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  log::route_systemc_reports();
  const auto wall0 = Clock::now();
  kernel::FaultInjection::instance().reset();  // armed only by this run's inject_fault steps

  std::unique_ptr<TraceWriter> trace;
  if (options.trace && !options.out_dir.empty()) {
    std::filesystem::create_directories(options.out_dir);
    trace = std::make_unique<TraceWriter>((std::filesystem::path(options.out_dir) / "trace.json").string());
  }
  stats::Group root("system");
  Platform platform("system", scenario.platform, root, scenario.seed, trace.get());
  ScenarioDriver driver("userspace", scenario, platform, trace.get());
  check_stat_references(scenario, root);

  Stop stop;
  {
    SignalScope signals(options.handle_signals);
    stop = simulate(options);
  }
  const uint64_t end_ps = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const bool stalled = stop != Stop::Finished || !driver.all_finished();
  platform.finalize(sc_core::sc_time_stamp());
  if (trace) trace->close();

  RunResult result;
  result.sim_ps = end_ps;
  std::string running;
  for (const auto& s : driver.running_steps()) running += (running.empty() ? "" : "; ") + s;
  const std::string in_steps = running.empty() ? std::string() : " while running " + running;
  std::string stall;
  if (stop == Stop::TimeLimit) {
    stall = "stopped at the simulated time limit";
  } else if (stop == Stop::WallLimit) {
    stall = "stopped at the wall-time limit (--max-wall " + format_fixed(*options.max_wall_s, 1) + " s)" + in_steps;
  } else if (stop == Stop::Signal) {
    result.signal = g_signal;
    stall = std::string("interrupted by ") + (g_signal == SIGINT ? "SIGINT" : "SIGTERM") + in_steps;
  } else if (!driver.all_finished()) {
    stall = "no more events, but steps are still blocked (deadlock)";
  }
  bool counts_events = false;  // an expectation counts events: it sees all of them, not the capped list
  for (const auto& e : scenario.expect) counts_events |= e.contains("events");
  const nlohmann::json all_events = counts_events ? platform.events().to_json(SIZE_MAX) : nlohmann::json();
  result.report = build_report(scenario, driver, root, end_ps, stall, platform.describe(),
                               platform.events().to_json(kMaxReportedEvents), counts_events ? &all_events : nullptr);
  if (result.signal) result.report["interrupted"] = true;
  // Lifetime: after every process exited and the VFIO drivers were unbound, nothing may remain.
  if (!stalled) {
    const auto leaks = platform.leaks();
    if (!leaks.empty()) {
      result.report["leaks"] = leaks;
      result.report["passed"] = false;
      for (const auto& l : leaks) log::warn("leak: " + l);
    }
  }
  if (stalled) kill_suspended_threads();
  result.passed = result.report["passed"].get<bool>();
  result.summary = render_summary(result.report);
  std::ostringstream stats_text;
  stats_text << "---------- Begin Simulation Statistics ----------\n";
  root.write_text(stats_text);
  stats_text << "---------- End Simulation Statistics   ----------\n";
  result.stats_text = stats_text.str();
  result.wall_s = seconds_since(wall0);
  return result;
}

void write_run_directory(const std::string& dir, const Scenario& scenario, const RunResult& result) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  auto write = [&](const char* name, const std::string& text) {
    std::ofstream out(fs::path(dir) / name, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + (fs::path(dir) / name).string());
    out << text;
  };
  write("report.json", result.report.dump(2) + "\n");
  write("summary.txt", result.summary);
  write("stats.txt", result.stats_text);
  write("config.json", scenario.resolved.dump(2) + "\n");
}

}  // namespace vfiosim
