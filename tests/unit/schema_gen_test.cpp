// to_json_schema: draft-07 header, closed objects, required lists, enums, size pattern, unions, arrays, list_params.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "sim/base/units.h"
#include "sim/config/spec.h"

using namespace vfiosim::config;

namespace {

std::shared_ptr<ObjectSpec> sample_root() {
  auto mem = std::make_shared<ObjectSpec>("Memory", "Main memory");
  mem->add(Field::size("size").require().describe("Capacity"));
  mem->add(Field::integer("latency_cycles").at_least(1).at_most(1000).defaults(96).with_unit("cycles").describe("Latency"));
  mem->add(Field::enumeration("policy", {"open", "closed"}).defaults("open"));
  mem->add(Field::number("efficiency").at_least(0.5));
  mem->add(Field::size("page").pow2().defaults("4KiB"));

  auto write = std::make_shared<ObjectSpec>("write", "");
  write->add(Field::string("op").require());
  write->add(Field::size("addr").require());
  auto delay = std::make_shared<ObjectSpec>("delay", "");
  delay->add(Field::string("op").require());
  delay->add(Field::integer("cycles"));
  auto steps = std::make_shared<UnionSpec>("op");
  steps->add("write", write).add("delay", delay);

  auto labels = std::make_shared<ObjectSpec>("labels", "");
  labels->allow_other_keys(Field::string(""));

  auto root = std::make_shared<ObjectSpec>("Scenario", "A scenario");
  root->add(Field::string("name").require());
  root->add(Field::object_of("memory", mem).require());
  root->add(Field::array_of("steps", Field::union_of("", steps)).items(1, 10));
  root->add(Field::object_of("labels", labels));
  root->add(Field::any("extra"));
  return root;
}

json schema() { return to_json_schema(*sample_root(), "https://example.org/s.json", "Scenario file"); }

}  // namespace

TEST(SchemaGen, HeaderAndRootObject) {
  const json s = schema();
  EXPECT_EQ(s["$schema"], "http://json-schema.org/draft-07/schema#");
  EXPECT_EQ(s["$id"], "https://example.org/s.json");
  EXPECT_EQ(s["title"], "Scenario file");  // the given title, not the spec's
  EXPECT_EQ(s["description"], "A scenario");
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["additionalProperties"], false);
  EXPECT_EQ(s["required"], json::array({"name", "memory"}));
  std::vector<std::string> keys;
  for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"extra", "labels", "memory", "name", "steps"}));
}

TEST(SchemaGen, NestedObjectsAreClosed) {
  const json m = schema()["properties"]["memory"];
  EXPECT_EQ(m["type"], "object");
  EXPECT_EQ(m["title"], "Memory");
  EXPECT_EQ(m["additionalProperties"], false);
  EXPECT_EQ(m["required"], json::array({"size"}));  // only required fields, not defaulted ones
}

TEST(SchemaGen, ScalarFields) {
  const json p = schema()["properties"]["memory"]["properties"];
  EXPECT_EQ(p["latency_cycles"]["type"], "integer");
  EXPECT_EQ(p["latency_cycles"]["minimum"], 1);
  EXPECT_EQ(p["latency_cycles"]["maximum"], 1000);
  EXPECT_EQ(p["latency_cycles"]["default"], 96);
  EXPECT_EQ(p["latency_cycles"]["description"], "Latency [cycles]");
  EXPECT_EQ(p["policy"]["enum"], json::array({"open", "closed"}));
  EXPECT_EQ(p["policy"]["default"], "open");
  EXPECT_EQ(p["efficiency"]["type"], "number");
  EXPECT_DOUBLE_EQ(p["efficiency"]["minimum"].get<double>(), 0.5);
  EXPECT_FALSE(p["efficiency"].contains("maximum"));
  EXPECT_EQ(schema()["properties"]["name"]["type"], "string");
  EXPECT_EQ(schema()["properties"]["extra"], json::object());  // Any: no constraint
}

TEST(SchemaGen, SizeIsIntegerOrPatternString) {
  const json size = schema()["properties"]["memory"]["properties"]["size"];
  ASSERT_TRUE(size["oneOf"].is_array());
  ASSERT_EQ(size["oneOf"].size(), 2u);
  EXPECT_EQ(size["oneOf"][0], json::parse(R"({"type": "integer", "minimum": 0})"));
  EXPECT_EQ(size["oneOf"][1]["type"], "string");
  ASSERT_TRUE(size["oneOf"][1]["pattern"].is_string());
  // The power-of-two rule has no schema form; it is stated in the description.
  const json page = schema()["properties"]["memory"]["properties"]["page"];
  EXPECT_NE(page["description"].get<std::string>().find("power of two"), std::string::npos);
  EXPECT_EQ(page["default"], "4KiB");
}

TEST(SchemaGen, SizePatternAgreesWithParseSize) {
  const std::string pattern =
      schema()["properties"]["memory"]["properties"]["size"]["oneOf"][1]["pattern"].get<std::string>();
  const std::regex re(pattern, std::regex::ECMAScript);
  for (const char* ok : {"4096", "4KiB", "4 KiB", "0x1000", "0X1F", "0x1B", "  64B ", "2M", "1GiB", "3TB", "0x1_0000"}) {
    EXPECT_TRUE(std::regex_search(ok, re)) << ok;
    EXPECT_TRUE(vfiosim::parse_size(ok).has_value()) << ok;
  }
  for (const char* bad : {"", "abc", "-1", "4XiB", "0x10KiB", "1.5KiB", "KiB", "4 4"}) {
    EXPECT_FALSE(std::regex_search(bad, re)) << bad;
    EXPECT_FALSE(vfiosim::parse_size(bad).has_value()) << bad;
  }
}

TEST(SchemaGen, UnionBecomesOneOfWithConstDiscriminator) {
  const json steps = schema()["properties"]["steps"];
  EXPECT_EQ(steps["type"], "array");
  EXPECT_EQ(steps["minItems"], 1);
  EXPECT_EQ(steps["maxItems"], 10);
  const json item = steps["items"];
  EXPECT_EQ(item["type"], "object");
  EXPECT_EQ(item["required"], json::array({"op"}));
  ASSERT_EQ(item["oneOf"].size(), 2u);
  EXPECT_EQ(item["oneOf"][0]["properties"]["op"], json::parse(R"({"const": "write"})"));
  EXPECT_EQ(item["oneOf"][0]["required"], json::array({"op", "addr"}));
  EXPECT_EQ(item["oneOf"][0]["additionalProperties"], false);
  EXPECT_EQ(item["oneOf"][1]["properties"]["op"], json::parse(R"({"const": "delay"})"));
  EXPECT_EQ(item["oneOf"][1]["properties"]["cycles"]["type"], "integer");
}

TEST(SchemaGen, OtherKeysBecomeAdditionalPropertiesSchema) {
  const json labels = schema()["properties"]["labels"];
  EXPECT_EQ(labels["additionalProperties"], json::parse(R"({"type": "string"})"));
  EXPECT_FALSE(labels.contains("required"));
}

TEST(ListParams, OneRowPerLeafWithDottedPaths) {
  std::vector<ParamRow> rows;
  list_params(*sample_root(), "", rows);
  std::map<std::string, ParamRow> by_path;
  for (const auto& r : rows) by_path[r.path] = r;
  ASSERT_TRUE(by_path.count("memory.latency_cycles"));
  const ParamRow& lat = by_path["memory.latency_cycles"];
  EXPECT_EQ(lat.type, "integer");
  EXPECT_EQ(lat.def, "96");
  EXPECT_EQ(lat.unit, "cycles");
  EXPECT_EQ(lat.desc, "Latency");
  EXPECT_EQ(by_path["memory.size"].def, "(required)");
  EXPECT_EQ(by_path["memory.size"].type, "size");
  EXPECT_EQ(by_path["memory.policy"].type, "open|closed");
  EXPECT_EQ(by_path["memory.policy"].def, "open");
  EXPECT_EQ(by_path["memory.efficiency"].def, "-");
  EXPECT_FALSE(by_path.count("memory"));  // objects are expanded, not listed
}
