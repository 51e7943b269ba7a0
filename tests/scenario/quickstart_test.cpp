// The quickstart scenario against a hand calculation from its parameters (memory 1200 MHz,
// 16 B/cycle, 96 cycles latency; master at 1200 MHz issuing every cycle).
#include <gtest/gtest.h>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"

using namespace vfiosim;

namespace {
const std::string kQuickstart = std::string(VFIOSIM_SOURCE_DIR) + "/scenarios/quickstart.json";
uint64_t ps_at(uint64_t cycle) { return (cycle * 1000000 + 1199) / 1200; }  // 1200 MHz cycle start
double ns(uint64_t ps) { return static_cast<double>(ps) / 1000.0; }
}  // namespace

TEST(Quickstart, NumbersMatchHandCalculation) {
  const Scenario sc = load_scenario(kQuickstart);
  ASSERT_EQ(sc.platform.memory.clock_mhz, 1200u);
  ASSERT_EQ(sc.platform.memory.bytes_per_cycle, 16u);
  ASSERT_EQ(sc.platform.memory.latency_cycles, 96u);
  const RunResult r = run_scenario(sc, RunOptions{});
  ASSERT_TRUE(r.passed) << r.summary;
  const auto& steps = r.report["steps"];
  const auto& results = r.report["results"];
  ASSERT_EQ(results.size(), 3u);

  // 1 MiB write in 256 B requests with 16 in flight: the bus is saturated, so the step lasts
  // 4096 requests x 16 beats, plus the latency of the last one.
  const uint64_t write_ps = ps_at(4096 * 16 + 96);
  EXPECT_DOUBLE_EQ(steps[0]["duration_ns"].get<double>(), ns(write_ps));
  EXPECT_NEAR(results[0]["bandwidth_gbps"].get<double>(), 1048576.0 * 8 / static_cast<double>(write_ps) * 1000, 1e-4);

  // The read-back starts on a cycle boundary (cycle 65632) and behaves the same.
  const uint64_t c0 = 4096 * 16 + 96;
  EXPECT_NEAR(steps[2]["duration_ns"].get<double>(), ns(ps_at(c0 + c0) - ps_at(c0)), 1e-3);

  // Unloaded 64 B random reads: 4 beats + 96 cycles each, back to back.
  const double latency_ns = 100 * 1000.0 / 1200;  // 83.333 ns
  EXPECT_NEAR(results[2]["latency_ns_p50"].get<double>(), latency_ns, 0.001);
  EXPECT_NEAR(results[2]["latency_ns_p99"].get<double>(), latency_ns, 0.001);
  EXPECT_NEAR(steps[3]["duration_ns"].get<double>(), 1000 * latency_ns, 0.002);
  EXPECT_NEAR(results[2]["bandwidth_gbps"].get<double>(), 64 * 8 / latency_ns, 1e-3);

  // Memory saw exactly the bytes the steps moved.
  EXPECT_EQ(r.report["stats"]["system"]["memory"]["bytes_written"]["value"], 1048576);
  EXPECT_EQ(r.report["stats"]["system"]["memory"]["bytes_read"]["value"], 1048576 + 64000);
  EXPECT_EQ(r.report["stats"]["system"]["dma0"]["data_mismatches"]["value"], 0);
}

TEST(Quickstart, SlowerMemoryOverrideChangesLatencyAsCalculated) {
  LoadOptions opts;
  opts.overrides = {"platform.memory.latency_cycles=196"};
  const Scenario sc = load_scenario(kQuickstart, opts);
  const RunResult r = run_scenario(sc, RunOptions{});
  EXPECT_EQ(sc.resolved["platform"]["memory"]["latency_cycles"], 196);
  EXPECT_NEAR(r.report["results"][2]["latency_ns_p50"].get<double>(), 200 * 1000.0 / 1200, 0.001);
}
