// Issue items 11-12: scenarios/iommu-window-sweep.json on the broadwell-vtd preset reproduces the
// pcie-bench IOMMU measurements (perf-anchors.md §1.3): no loss up to 256 KiB, the knee between
// 256 and 512 KiB, 60-70% loss at 64 MiB with 4 KiB pages, +280 ns ± 15% per miss unloaded, and
// no measurable loss with 2 MiB pages — against the same platform without translation.
#include <cstdlib>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

const std::string kScenario = std::string(VFIOSIM_SOURCE_DIR) + "/scenarios/iommu-window-sweep.json";

// (kind "bw"/"lat", page size, window) -> row
using Rows = std::map<std::tuple<std::string, uint64_t, uint64_t>, json>;

Rows index(const json& results) {
  Rows rows;
  for (const auto& r : results) {
    const std::string kind = r["outstanding"].get<int>() == 1 ? "lat" : "bw";
    const uint64_t page = r.contains("page_size_bytes") ? r["page_size_bytes"].get<uint64_t>() : 0;
    const std::string step = r["step"].get<std::string>();
    const uint64_t label_page = step.find("-2MiB-") != std::string::npos ? 2u << 20 : 4096;
    rows[{kind, page ? page : label_page, r["window_bytes"].get<uint64_t>()}] = r;
  }
  return rows;
}

double bw(const Rows& rows, uint64_t page, uint64_t window) {
  return rows.at({"bw", page, window})["bandwidth_gbps"].get<double>();
}
double p50(const Rows& rows, uint64_t page, uint64_t window) {
  return rows.at({"lat", page, window})["latency_ns_p50"].get<double>();
}

constexpr uint64_t K = 1024, M = 1024 * 1024;

}  // namespace

TEST(IommuWindowSweep, BroadwellPresetReproducesThePcieBenchMeasurements) {
  const Scenario sc = load_scenario(kScenario);
  const RunResult r = run_scenario(sc, RunOptions{});
  ASSERT_TRUE(r.passed) << r.summary;
  const Rows rows = index(r.report["results"]);
  ASSERT_EQ(rows.size(), 60u);  // 15 windows x {4 KiB, 2 MiB pages} x {loaded, unloaded}
  for (const auto& [key, row] : rows) {
    for (const char* f : {"page_size_bytes", "window_bytes", "size_bytes", "direction", "outstanding",
                          "bandwidth_gbps", "latency_ns_p50", "iotlb_hit_rate"})
      EXPECT_TRUE(row.contains(f)) << row["step"] << " lacks " << f;
    EXPECT_EQ(row["size_bytes"], 64);
    EXPECT_EQ(row["direction"], "read");
    EXPECT_EQ(row["errors"], 0);
  }
  // The reference: the same window with 2 MiB pages, where nothing misses after warm-up.
  auto loss = [&](uint64_t w) { return 1.0 - bw(rows, 4096, w) / bw(rows, 2 * M, w); };
  for (uint64_t w = 4 * K; w <= 256 * K; w *= 2) EXPECT_LT(loss(w), 0.02) << w;  // no loss up to 256 KiB
  EXPECT_GT(loss(512 * K), 0.15);                                               // the knee
  EXPECT_GE(loss(64 * M), 0.60);
  EXPECT_LE(loss(64 * M), 0.70);
  for (uint64_t w = 1 * M; w <= 64 * M; w *= 2) EXPECT_GT(loss(w), loss(w / 2) - 0.005) << w;  // monotone
  // Unloaded: +280 ns ± 15% per miss.
  const double per_miss = p50(rows, 4096, 64 * M) - p50(rows, 4096, 4 * K);
  EXPECT_GE(per_miss, 280 * 0.85);
  EXPECT_LE(per_miss, 280 * 1.15);
  // 2 MiB pages: no measurable loss at any window, loaded or unloaded.
  for (uint64_t w = 4 * K; w <= 64 * M; w *= 2) {
    EXPECT_NEAR(bw(rows, 2 * M, w) / bw(rows, 2 * M, 4 * K), 1.0, 0.01) << w;
    EXPECT_NEAR(p50(rows, 2 * M, w), p50(rows, 2 * M, 4 * K), 2.0) << w;
    EXPECT_EQ(rows.at({"bw", 2 * M, w})["page_size_bytes"], 2 * M);
    EXPECT_EQ(rows.at({"bw", 4096, w})["page_size_bytes"], 4096);
  }
  EXPECT_LT(rows.at({"bw", 4096, 64 * M})["iotlb_hit_rate"].get<double>(), 0.01);
  EXPECT_GT(rows.at({"bw", 4096, 256 * K})["iotlb_hit_rate"].get<double>(), 0.99);
}

// The 2 MiB-page reference equals the platform with translation bypassed (iommu=pt): the sweep's
// "no loss" is loss against an untranslated baseline, not only against itself.
TEST(IommuWindowSweep, SuperpageRowsMatchTheUntranslatedBaseline) {
  LoadOptions pt;
  pt.overrides = {"platform.kernel.iommu.passthrough=true"};
  const RunResult base = run_scenario(load_scenario(kScenario, pt), RunOptions{});
  ASSERT_TRUE(base.passed) << base.summary;
  const std::string dir = std::string(::testing::TempDir()) + "/iommu-sweep-translated";
  const std::string cmd = std::string(VFIOSIM_BINARY) + " run " + kScenario + " -q -o " + dir + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir + "/report.json");
  const json translated = json::parse(in);
  const Rows with = index(translated["results"]);
  const Rows without = index(base.report["results"]);
  for (uint64_t w = 4 * K; w <= 64 * M; w *= 2) {
    const double b = without.at({"bw", 4096, w})["bandwidth_gbps"].get<double>();
    EXPECT_NEAR(bw(with, 2 * M, w) / b, 1.0, 0.01) << w;
    if (w <= 256 * K) {
      EXPECT_NEAR(bw(with, 4096, w) / b, 1.0, 0.02) << w;
    }
  }
  EXPECT_EQ(base.report["stats"]["system"]["iommu"]["iotlb_miss"]["value"], 0);
}
