// Expectations on the events of a run: counting the events whose fields match (none, exactly
// so many), over every event rather than the report's capped list, and the form's errors.
#include <gtest/gtest.h>

#include "sim/app/runner.h"
#include "sim/app/scenario.h"
#include "sim/config/errors.h"
#include "sim/config/json_file.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

json dma_engine_scenario(json expect) {
  json doc = config::load_json_file(std::string(VFIOSIM_SOURCE_DIR) + "/scenarios/vfio-dma-engine.json");
  doc["expect"] = std::move(expect);
  return doc;
}

}  // namespace

TEST(EventsExpect, CountsMatchingEventsAndFailsOnAMismatch) {
  // The bundled run faults 10 reads of an unmapped page through the IOMMU (8 recorded, 2 lost
  // to a full fault log).
  const json expect = {
      {{"events", {{"type", "dmar_fault"}, {"source_id", "01:00.0"}, {"access", "read"}}}, {"==", 10}},
      {{"events", {{"type", "dmar_fault"}, {"recorded", false}}}, {"==", 2}},
      {{"events", {{"type", "dmar_fault"}, {"access", "write"}}}, {"==", 0}, {"description", "no write faults"}},
      {{"events", {{"type", "dmar_fault"}}}, {"<", 3}}};
  const RunResult r = run_scenario(prepare_scenario(dma_engine_scenario(expect), "vfio-dma-engine.json"), {});
  const auto& e = r.report["expectations"];
  ASSERT_EQ(e.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(e[i]["pass"].get<bool>()) << e[i].dump();
  EXPECT_FALSE(e[3]["pass"].get<bool>());
  EXPECT_EQ(e[3]["actual"], 10);
  EXPECT_FALSE(e[3].contains("pointer"));
  EXPECT_FALSE(r.passed);
}

TEST(EventsExpect, TheFormIsCheckedBeforeTheRun) {
  auto error_of = [](json expect) -> std::string {
    try {
      prepare_scenario(dma_engine_scenario(std::move(expect)), "x.json");
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of({{{"events", "dmar_fault"}, {"==", 0}}}),
            "/expect/0/events: expected an object of event fields to match, e.g. {\"type\": \"dmar_fault\"}");
  EXPECT_EQ(error_of({{{"events", {{"type", "x"}}}, {"stat", "system.iommu.faults"}, {"==", 0}}}),
            "/expect/0: expected exactly one of \"stat\", \"pointer\" or \"events\"");
}
