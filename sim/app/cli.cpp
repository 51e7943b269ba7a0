#include "sim/app/cli.h"

#include <cctype>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <systemc>

#include "sim/app/catalogue.h"
#include "sim/app/runner.h"
#include "sim/app/scenario.h"
#include "sim/app/version.h"
#include "sim/base/log.h"
#include "sim/base/units.h"
#include "sim/config/errors.h"
#include "sim/config/json_file.h"

namespace vfiosim {

namespace {

std::string version_text() {
  return std::string("vfiosim ") + kVersion + " (git " + kGitRevision + ", SystemC " + sc_core::sc_release() + ")";
}

// Reports a load problem the way compilers do: file, then pointer or line:column, then message.
int report_load_error(const std::string& file, const std::exception& e) {
  if (const auto* syntax = dynamic_cast<const config::JsonSyntaxError*>(&e)) {
    std::cerr << file << ":" << syntax->line() << ":" << syntax->column() << ": invalid JSON: " << syntax->detail() << "\n";
  } else if (const auto* cfg = dynamic_cast<const config::ConfigError*>(&e)) {
    for (const auto& issue : cfg->issues())
      std::cerr << file << ": " << (issue.pointer.empty() ? "/" : issue.pointer) << ": " << issue.message << "\n";
  } else {
    std::cerr << config::printable(file) << ": " << config::printable(e.what()) << "\n";
  }
  return kExitInvalidInput;
}

std::string default_out_dir(const std::string& name) {
  std::string safe;
  for (const char c : name) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return (std::filesystem::path("vfiosim-out") / (safe.empty() ? "run" : safe)).string();
}

struct RunArgs {
  std::string scenario;
  std::string out;
  std::vector<std::string> sets;
  std::optional<uint64_t> seed;
  bool trace = false;
  std::string max_time;
  double max_wall = 0;  // seconds; 0: no limit
  double heartbeat = 5.0;
  bool quiet = false;
};

int do_run(const RunArgs& a) {
  RunOptions options;
  options.trace = a.trace;
  options.heartbeat_s = a.quiet ? 0 : a.heartbeat;
  if (a.max_wall > 0) options.max_wall_s = a.max_wall;
  options.handle_signals = true;
  if (!a.max_time.empty()) {
    options.max_time_ps = parse_duration_ps(a.max_time);
    if (!options.max_time_ps) {
      std::cerr << "vfiosim: --max-time: expected a duration such as 10ms or 500us, got \"" << a.max_time << "\"\n";
      return kExitInvalidInput;
    }
  }
  Scenario scenario;
  try {
    scenario = load_scenario(a.scenario, LoadOptions{a.sets, a.seed});
  } catch (const std::exception& e) {
    return report_load_error(a.scenario, e);
  }
  options.out_dir = a.out.empty() ? default_out_dir(scenario.name) : a.out;
  RunResult result;
  try {
    result = run_scenario(scenario, options);
  } catch (const config::ConfigError& e) {
    return report_load_error(a.scenario, e);
  }
  write_run_directory(options.out_dir, scenario, result);
  std::cout << result.summary << std::flush;
  if (result.signal) {  // what ran so far is written; the shell's convention for the exit code
    std::cerr << "vfiosim: " << (result.signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)")
              << "; the report of what ran so far is in " << options.out_dir << "/\n";
    return 128 + result.signal;
  }
  if (!a.quiet) {
    const double sim_s = static_cast<double>(result.sim_ps) * 1e-12;
    log::write(log::Level::Info, "simulated " + format_ns(result.sim_ps) + " ns in " + format_fixed(result.wall_s, 3) +
                                     " s of wall time (" +
                                     format_fixed(result.wall_s > 0 ? sim_s / result.wall_s * 1e6 : 0, 1) +
                                     " simulated us per wall s); results in " + options.out_dir + "/");
  }
  return result.passed ? kExitOk : kExitExpectationFailed;
}

// One file: loaded, validated and resolved, then elaborated as `run` would (stats named in
// `expect`, each step's platform checks) without simulating.
int validate_one(const std::string& f, const std::vector<std::string>& sets) {
  try {
    const Scenario s = load_scenario(f, LoadOptions{sets, std::nullopt});
    log::route_systemc_reports();
    check_elaboration(s);
    std::cout << f << ": ok (" << s.steps.size() << " steps)\n";
    return kExitOk;
  } catch (const std::exception& e) {
    return report_load_error(f, e);
  }
}

// Each file in a child process, since SystemC elaborates only once per process.
int do_validate(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
  if (files.size() == 1) return validate_one(files[0], sets);
  int rc = kExitOk;
  for (const auto& f : files) {
    std::cout << std::flush;
    std::cerr << std::flush;
    const pid_t pid = fork();
    if (pid == 0) {
      const int child = validate_one(f, sets);
      std::cout << std::flush;
      std::cerr << std::flush;
      _exit(child);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      std::cerr << f << ": could not be validated (" << (pid < 0 ? "fork failed" : "the check died") << ")\n";
      rc = kExitInternalError;
      continue;
    }
    if (WEXITSTATUS(status) != kExitOk && rc == kExitOk) rc = WEXITSTATUS(status);
  }
  return rc;
}

}  // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{"vfiosim: a full-system simulator of a Linux host's I/O path (IOMMU, PCIe, CCW) under a "
               "port of the Linux VFIO core"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "stderr verbosity: debug, info, warn, error, off")
      ->capture_default_str();

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a scenario and write report.json, summary.txt, stats.txt, "
                                        "config.json (and trace.json) to the output directory");
  run->add_option("scenario", run_args.scenario, "Scenario file")->required();
  run->add_option("-o,--out", run_args.out, "Output directory (default vfiosim-out/<scenario name>)");
  run->add_option("--set", run_args.sets, "Override a parameter: PATH=VALUE (repeatable), e.g. "
                                          "platform.memory.latency_cycles=120")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--seed", run_args.seed, "Seed of all random choices (overrides the scenario's seed)");
  run->add_flag("--trace", run_args.trace, "Also write trace.json (Chrome trace events; open in Perfetto)");
  run_args.max_time = "1000s";  // a run blocked for good (a process waiting on itself) still ends
  run->add_option("--max-time", run_args.max_time,
                  "Stop at this simulated time (e.g. 10ms); the run then counts as not finished")
      ->capture_default_str();
  run->add_option("--max-wall", run_args.max_wall,
                  "Stop after this many seconds of wall time (0: no limit), naming the steps still running; "
                  "the run then counts as not finished")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_option("--heartbeat", run_args.heartbeat, "Wall seconds between progress lines on stderr (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  run->add_flag("-q,--quiet", run_args.quiet, "No progress or closing line on stderr");

  std::vector<std::string> validate_files, validate_sets;
  auto* validate = app.add_subcommand("validate", "Check scenario files without simulating");
  validate->add_option("scenarios", validate_files, "Scenario files")->required();
  validate->add_option("--set", validate_sets, "Override a parameter: PATH=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  bool list_scenarios = false, list_params = false, list_steps = false;
  auto* list = app.add_subcommand("list", "List bundled scenarios, model parameters and step operations");
  list->add_flag("--scenarios", list_scenarios, "Only the bundled scenarios");
  list->add_flag("--params", list_params, "Only the model parameters");
  list->add_flag("--steps", list_steps, "Only the step operations");

  auto* schema = app.add_subcommand("schema", "Print the scenario JSON Schema");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitInvalidInput;
  }
  log::Level level;
  if (!log::parse_level(log_level, level)) {
    std::cerr << "vfiosim: --log-level: expected debug, info, warn, error or off, got \"" << log_level << "\"\n";
    return kExitInvalidInput;
  }
  log::set_level(level);

  try {
    if (*run) return do_run(run_args);
    if (*validate) return do_validate(validate_files, validate_sets);
    if (*list) {
      const bool all = !list_scenarios && !list_params && !list_steps;
      if (all || list_scenarios) std::cout << render_scenario_list() << (all ? "\n" : "");
      if (all || list_params) std::cout << render_param_list() << (all ? "\n" : "");
      if (all || list_steps) std::cout << render_step_list();
      return kExitOk;
    }
    if (*schema) {
      std::cout << scenario_schema().dump(2) << "\n";
      return kExitOk;
    }
  } catch (const std::exception& e) {
    std::cerr << "vfiosim: internal error: " << e.what() << "\n";
    return kExitInternalError;
  }
  return kExitInvalidInput;
}

}  // namespace vfiosim
