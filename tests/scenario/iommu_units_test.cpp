// scenarios/iommu-two-units.json: a remapping unit's IOTLB is shared by every device in its scope
// and by nothing else. A device alone fits its 48-page working set in the broadwell-vtd IOTLB; a
// neighbour on the same unit doubles the pressure past the 64 entries and both lose bandwidth; a
// neighbour on the other unit costs nothing.
#include <map>

#include <gtest/gtest.h>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"

using namespace vfiosim;

TEST(IommuUnits, ANeighbourOnTheSameUnitThrashesTheIotlbAndOneOnTheOtherUnitDoesNot) {
  const Scenario sc = load_scenario(std::string(VFIOSIM_SOURCE_DIR) + "/scenarios/iommu-two-units.json");
  const RunResult r = run_scenario(sc, RunOptions{});
  ASSERT_TRUE(r.passed) << r.summary;
  std::map<std::string, double> bw;
  for (const auto& row : r.report["results"]) bw[row["step"].get<std::string>()] = row["bandwidth_gbps"].get<double>();
  ASSERT_EQ(bw.size(), 5u);
  const double alone = bw.at("alone");
  EXPECT_GT(alone, 25.0);  // no translation misses: the link-bound rate of 64 B reads (pcie-bench ~28 Gb/s)
  for (const char* s : {"same-unit-01", "same-unit-02"}) EXPECT_LT(bw.at(s), 0.75 * alone) << s;
  for (const char* s : {"other-unit-01", "other-unit-03"}) EXPECT_NEAR(bw.at(s), alone, 0.02 * alone) << s;
  // Each unit counted its own traffic: iommu1 only saw 03:00.0.
  const auto& stats = r.report["stats"]["system"];
  EXPECT_GT(stats["iommu1"]["iotlb_hit"]["value"].get<uint64_t>(), 0u);
  EXPECT_LT(stats["iommu1"]["iotlb_miss"]["value"].get<uint64_t>(),
            stats["iommu0"]["iotlb_miss"]["value"].get<uint64_t>());
}
