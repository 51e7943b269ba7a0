// The vfiosim executable as a user meets it: exit codes, clean stdout, output files, overrides,
// determinism, the trace file, and the list/schema/version commands.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kBin = VFIOSIM_BINARY;
const std::string kSrc = VFIOSIM_SOURCE_DIR;
const std::string kQuickstart = kSrc + "/scenarios/quickstart.json";

struct Result {
  int rc;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::temp_directory_path() / ("vfiosim-cli-" + std::string(info->name()) + "-" +
                                                    std::to_string(::getpid()));
  static bool fresh = false;  // one test per process: start from an empty folder once
  if (!fresh) {
    fs::remove_all(dir);
    fresh = true;
  }
  fs::create_directories(dir);
  return dir;
}

Result vfiosim(const std::string& args) {
  const fs::path dir = scratch() / "io";
  fs::create_directories(dir);
  const std::string cmd = kBin + " " + args + " >" + (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out"), slurp(dir / "err")};
}

json load(const fs::path& p) { return json::parse(slurp(p)); }

}  // namespace

TEST(Cli, RunWritesTheRunDirectoryAndPrintsOnlyTheSummary) {
  const fs::path out = scratch() / "run";
  const Result r = vfiosim("run " + kQuickstart + " -o " + out.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"report.json", "summary.txt", "stats.txt", "config.json"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_FALSE(fs::exists(out / "trace.json"));
  EXPECT_EQ(r.out, slurp(out / "summary.txt"));  // stdout is the summary and nothing else
  EXPECT_EQ(r.err.find("SystemC"), std::string::npos) << "banner leaked: " << r.err;
  EXPECT_NE(r.err.find("simulated"), std::string::npos);  // closing line on stderr
  const json report = load(out / "report.json");
  EXPECT_EQ(report["scenario"]["name"], "quickstart");
  EXPECT_TRUE(report["passed"].get<bool>());
  EXPECT_NE(slurp(out / "stats.txt").find("system.memory.bytes_written"), std::string::npos);
}

TEST(Cli, SameSeedGivesByteIdenticalOutputs) {
  const fs::path a = scratch() / "a", b = scratch() / "b";
  ASSERT_EQ(vfiosim("run " + kQuickstart + " -q --trace --seed 9 -o " + a.string()).rc, 0);
  ASSERT_EQ(vfiosim("run " + kQuickstart + " -q --trace --seed 9 -o " + b.string()).rc, 0);
  for (const char* f : {"report.json", "summary.txt", "stats.txt", "config.json", "trace.json"})
    EXPECT_EQ(slurp(a / f), slurp(b / f)) << f;
  EXPECT_EQ(load(a / "report.json")["seed"], 9);
}

TEST(Cli, DifferentSeedChangesRandomAddresses) {
  const fs::path a = scratch() / "a", b = scratch() / "b";
  ASSERT_EQ(vfiosim("run " + kQuickstart + " -q --trace --seed 1 -o " + a.string()).rc, 0);
  ASSERT_EQ(vfiosim("run " + kQuickstart + " -q --trace --seed 2 -o " + b.string()).rc, 0);
  EXPECT_NE(slurp(a / "trace.json"), slurp(b / "trace.json"));  // random-pattern addresses differ
}

TEST(Cli, TraceIsChromeTraceJsonWithBalancedAsyncSlices) {
  const fs::path out = scratch() / "t";
  ASSERT_EQ(vfiosim("run " + kQuickstart + " -q --trace -o " + out.string()).rc, 0);
  const json trace = load(out / "trace.json");
  ASSERT_TRUE(trace["traceEvents"].is_array());
  size_t begins = 0, ends = 0;
  for (const auto& e : trace["traceEvents"]) {
    const auto ph = e["ph"].get<std::string>();
    begins += ph == "b";
    ends += ph == "e";
    if (ph == "b" || ph == "e") {
      EXPECT_TRUE(e.contains("id") && e.contains("ts"));
    }
  }
  EXPECT_EQ(begins, ends);
  EXPECT_GE(begins, 4096u + 4096u + 1000u);  // every DMA request, plus the steps
}

TEST(Cli, SetOverridesReachTheResolvedConfig) {
  const fs::path out = scratch() / "s";
  const Result r = vfiosim("run " + kQuickstart + " -q -o " + out.string() +
                           " --set platform.memory.latency_cycles=100 --set /platform/dma_masters/0/issue_cycles=2");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json cfg = load(out / "config.json");
  EXPECT_EQ(cfg["platform"]["memory"]["latency_cycles"], 100);
  EXPECT_EQ(cfg["platform"]["dma_masters"][0]["issue_cycles"], 2);
  EXPECT_EQ(cfg["platform"]["memory"]["bytes_per_cycle"], 16);  // defaults are written out too
}

TEST(Cli, BadOverrideIsInvalidInputNamingThePointer) {
  const Result r = vfiosim("run " + kQuickstart + " -q -o " + (scratch() / "x").string() +
                           " --set platform.memory.latency_cycles=-5");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("/platform/memory/latency_cycles: expected an integer"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Cli, FailedExpectationExitsOne) {
  const Result r = vfiosim("run " + kQuickstart + " -q -o " + (scratch() / "f").string() +
                           " --set platform.memory.latency_cycles=500");
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(vfiosim("").rc, 2);
  EXPECT_EQ(vfiosim("run").rc, 2);
  EXPECT_EQ(vfiosim("run " + kQuickstart + " --no-such-flag").rc, 2);
  EXPECT_EQ(vfiosim("frobnicate").rc, 2);
  EXPECT_EQ(vfiosim("run /no/such/file.json").rc, 2);
  EXPECT_EQ(vfiosim("run " + kQuickstart + " --max-time soon").rc, 2);
  EXPECT_EQ(vfiosim("--log-level chatty list").rc, 2);
}

TEST(Cli, HelpAndVersionExitZero) {
  for (const char* sub : {"--help", "run --help", "validate --help", "list --help", "schema --help"}) {
    const Result r = vfiosim(sub);
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  const Result v = vfiosim("--version");
  EXPECT_EQ(v.rc, 0);
  EXPECT_EQ(v.out.rfind("vfiosim 0.", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("SystemC 2.3"), std::string::npos);
}

TEST(Cli, ValidateAcceptsBundledScenarios) {
  const Result r = vfiosim("validate " + kQuickstart);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos);
}

TEST(Cli, ListShowsScenariosParametersAndSteps) {
  const Result r = vfiosim("list");
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("quickstart.json"), std::string::npos);
  for (const char* p : {"platform.memory.latency_cycles", "platform.memory.bytes_per_cycle",
                        "platform.dma_masters[].clock_mhz", "cycles", "MHz"})
    EXPECT_NE(r.out.find(p), std::string::npos) << p;
  EXPECT_NE(r.out.find("dma:"), std::string::npos);
  EXPECT_NE(r.out.find("memory_check:"), std::string::npos);
}

TEST(Cli, SchemaPrintsTheCheckedInSchema) {
  const Result r = vfiosim("schema");
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(json::parse(r.out), load(kSrc + "/scenarios/schema/scenario.schema.json"));
}

TEST(Cli, PcieTraceHasTlpSlicesOnLinkTracks) {
  const fs::path out = scratch() / "t";
  ASSERT_EQ(vfiosim("run " + kSrc + "/scenarios/pci-topology.json -q --trace -o " + out.string()).rc, 0);
  const json trace = load(out / "trace.json");
  size_t tlp_begins = 0, counters = 0, link_tracks = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "b" && e.value("cat", "") == "tlp") ++tlp_begins;
    if (e["ph"] == "C") ++counters;
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"].get<std::string>().rfind("link_", 0) == 0)
      ++link_tracks;
  }
  EXPECT_GE(tlp_begins, 256u);  // at least the DMA step's MWr TLPs
  EXPECT_GT(counters, 0u);
  EXPECT_EQ(link_tracks, 2u * 4);  // up and down for each of the four links (2 root ports, 2 DSPs)
}

// A run that can never finish (a process removing the device it holds open waits on itself, as
// on Linux) still ends: at the default --max-time, as not finished (exit 1), with the report.
TEST(Cli, ABlockedRunStopsAtTheDefaultTimeLimit) {
  const fs::path out = scratch() / "run";
  const Result r = vfiosim("run " + kSrc + "/tests/scenario/data/self_removal.json -o " + out.string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE((r.out + r.err).find("did not finish"), std::string::npos) << r.out << r.err;
  const json report = load(out / "report.json");
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_LE(report["sim_time_ns"].get<double>(), 1000e9);
}

// --max-wall ends a long run at a slice boundary, names the step still running, and writes the
// report of what ran (not finished: exit 1).
TEST(Cli, TheWallTimeLimitEndsALongRunNamingTheStep) {
  const fs::path out = scratch() / "run";
  const Result r = vfiosim("run " + kSrc + "/tests/scenario/data/long_dma.json --max-wall 1 -q -o " + out.string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("wall-time limit (--max-wall 1.0 s) while running /steps/0 (0:dma, process main)"),
            std::string::npos)
      << r.out << r.err;
  const json report = load(out / "report.json");
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_GT(report["sim_time_ns"].get<double>(), 0.0);
}

// SIGINT or SIGTERM stops the run at the next slice: the report of what ran so far is written and
// marked interrupted, and the exit code is the shell's 128 + signal.
class CliSignal : public ::testing::TestWithParam<int> {};

TEST_P(CliSignal, StopsTheRunAndWritesTheReport) {
  const int sig = GetParam();
  const fs::path out = scratch() / "run";
  const fs::path log = scratch() / "err";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string scenario = kSrc + "/tests/scenario/data/long_dma.json";
    std::freopen(log.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    execl(kBin.c_str(), kBin.c_str(), "run", scenario.c_str(), "-q", "-o", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Signal once the run is well into simulating (boot takes microseconds of wall time).
  ::usleep(1500 * 1000);
  ASSERT_EQ(::kill(pid, sig), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by a signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
  const json report = load(out / "report.json");
  EXPECT_TRUE(report["interrupted"].get<bool>());
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_NE(report["stall"].get<std::string>().find(sig == SIGINT ? "SIGINT" : "SIGTERM"), std::string::npos);
  EXPECT_NE(slurp(log).find("the report of what ran so far is in"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Signals, CliSignal, ::testing::Values(SIGINT, SIGTERM));
