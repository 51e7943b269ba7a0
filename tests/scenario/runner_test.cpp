// The scenario runner: concurrent processes share hardware, faults are reported and the run goes
// on, expectations fail the run, time limits stop it, and bad stat references are caught before
// simulation starts.
#include <gtest/gtest.h>

#include <systemc>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"
#include "sim/config/errors.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

json platform_two_masters() {
  return {{"memory", {{"size", "1GiB"}, {"clock_mhz", 1000}, {"latency_cycles", 50}, {"bytes_per_cycle", 16}}},
          {"dma_masters", {{{"name", "a"}, {"clock_mhz", 1000}}, {{"name", "b"}, {"clock_mhz", 1000}}}}};
}

json dma(const std::string& master, const std::string& process, uint64_t address) {
  return {{"op", "dma"}, {"master", master}, {"process", process}, {"direction", "write"}, {"size", 256},
          {"count", 2048}, {"outstanding", 16}, {"address", address}};
}

RunResult run(const json& doc, RunOptions opts = {}) {
  return run_scenario(prepare_scenario(doc, "inline.json"), opts);
}

}  // namespace

TEST(Runner, ConcurrentProcessesShareTheMemoryBus) {
  const json doc = {{"name", "concurrent"}, {"platform", platform_two_masters()},
                    {"steps", {dma("a", "p1", 0x100000), dma("b", "p2", 0x2000000)}}};
  const RunResult r = run(doc);
  ASSERT_TRUE(r.passed) << r.summary;
  const auto& s = r.report["steps"];
  // Both start at time 0 in their own processes.
  EXPECT_EQ(s[0]["start_ns"], 0.0);
  EXPECT_EQ(s[1]["start_ns"], 0.0);
  // Together they move 2 x 512 KiB through one 16 B/cycle bus at 1 GHz: the bus is the
  // bottleneck, so the run takes 2 x 2048 x 16 cycles (+ latency) and each gets half the bus.
  const double total_ns = 2 * 2048 * 16 + 50;
  EXPECT_NEAR(r.report["sim_time_ns"].get<double>(), total_ns, 16.0);
  for (int i = 0; i < 2; ++i)
    EXPECT_NEAR(r.report["results"][i]["bandwidth_gbps"].get<double>(), 16 * 8 / 2.0, 1.0);
}

TEST(Runner, StepsOfOneProcessRunInOrder) {
  json steps = {dma("a", "p", 0x100000), {{"op", "delay"}, {"process", "p"}, {"duration_ns", 1000}},
                dma("a", "p", 0x200000)};
  const RunResult r = run({{"name", "order"}, {"platform", platform_two_masters()}, {"steps", steps}});
  const auto& s = r.report["steps"];
  EXPECT_DOUBLE_EQ(s[1]["start_ns"].get<double>(), s[0]["end_ns"].get<double>());
  EXPECT_DOUBLE_EQ(s[2]["start_ns"].get<double>(), s[1]["end_ns"].get<double>());
  EXPECT_DOUBLE_EQ(s[1]["duration_ns"].get<double>(), 1000.0);
}

TEST(Runner, DmaOutsideMemoryIsReportedAndTheRunGoesOn) {
  json bad = dma("a", "main", (1ULL << 30) - 1024);  // 4 of 2048 requests fit
  bad["count"] = 8;
  bad["expect"] = {{"errors", 4}};
  json good = dma("a", "main", 0x1000);
  good["expect"] = {{"errors", 0}};
  const RunResult r = run({{"name", "fault"}, {"platform", platform_two_masters()}, {"steps", {bad, good}}});
  EXPECT_TRUE(r.passed) << r.summary;
  EXPECT_EQ(r.report["stats"]["system"]["memory"]["address_errors"]["value"], 4);
  EXPECT_EQ(r.report["steps"][1]["status"], "ok");
}

TEST(Runner, FailedExpectationFailsTheRunButRecordsEverything) {
  json step = dma("a", "main", 0x1000);
  step["expect"] = {{"bandwidth_gbps", {{">", 1000}}}, {"errors", 0}};
  const json doc = {{"name", "fails"}, {"platform", platform_two_masters()}, {"steps", {step}},
                    {"expect", {{{"stat", "system.a.requests"}, {"==", 2048}},
                                {{"pointer", "/results/0/bytes"}, {"<", 10}}}}};
  const RunResult r = run(doc);
  EXPECT_FALSE(r.passed);
  const auto& e = r.report["steps"][0]["expect"];
  ASSERT_EQ(e.size(), 2u);
  EXPECT_FALSE(e[0]["pass"].get<bool>());  // bandwidth_gbps (sorted keys)
  EXPECT_TRUE(e[1]["pass"].get<bool>());   // errors
  EXPECT_EQ(r.report["steps"][0]["status"], "failed");
  EXPECT_TRUE(r.report["expectations"][0]["pass"].get<bool>());
  EXPECT_FALSE(r.report["expectations"][1]["pass"].get<bool>());
  EXPECT_EQ(r.report["expectations"][1]["actual"], 2048 * 256);
  EXPECT_NE(r.summary.find("FAIL"), std::string::npos);
}

TEST(Runner, HistogramFieldsAreAddressableAsStats) {
  const json doc = {{"name", "hist"}, {"platform", platform_two_masters()}, {"steps", {dma("a", "main", 0)}},
                    {"expect", {{{"stat", "system.a.latency.p50"}, {">", 50}}, {{"stat", "system.a.latency"}, {">", 50}}}}};
  const RunResult r = run(doc);
  EXPECT_TRUE(r.passed) << r.summary;
  EXPECT_GT(r.report["expectations"][1]["actual"].get<double>(), 50.0);  // a histogram reads as its mean
}

TEST(Runner, UnknownStatIsRejectedBeforeSimulation) {
  const json doc = {{"name", "badstat"}, {"platform", platform_two_masters()}, {"steps", {dma("a", "main", 0)}},
                    {"expect", {{{"stat", "system.memory.raeds"}, {">", 0}}}}};
  try {
    run(doc);
    FAIL() << "accepted an unknown stat";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.issues().at(0).pointer, "/expect/0/stat");
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::SC_ZERO_TIME);
  }
}

TEST(Runner, TimeLimitStopsTheRunAndMarksUnfinishedSteps) {
  RunOptions opts;
  opts.max_time_ps = 5'000'000;  // 5 us; the workload needs about 33 us
  const RunResult r = run({{"name", "limit"}, {"platform", platform_two_masters()}, {"steps", {dma("a", "main", 0)}}}, opts);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.report["steps"][0]["status"], "blocked");
  EXPECT_TRUE(r.report.contains("stall"));
  EXPECT_LE(r.sim_ps, 5'000'000u);
}
