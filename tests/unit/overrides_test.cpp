// --set overrides: path forms (dotted, [index], JSON pointer), value parsing, object creation and errors.
#include <gtest/gtest.h>

#include <string>

#include "sim/config/errors.h"
#include "sim/config/overrides.h"

using namespace vfiosim::config;
using nlohmann::json;

namespace {

json base_doc() {
  return json::parse(R"({
    "platform": {"memory": {"latency_cycles": 96, "size": "1GiB"},
                 "dma_masters": [{"clock_mhz": 1000}, {"clock_mhz": 500}]},
    "steps": [1, 2, 3]
  })");
}

// The pointer of the single issue of the ConfigError thrown by `fn`.
template <typename Fn>
std::string error_pointer(Fn fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.issues().size(), 1u);
    return e.issues().empty() ? "<no issue>" : e.issues()[0].pointer;
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "<no error>";
}

}  // namespace

TEST(OverridePointer, DottedIndexedAndPointerForms) {
  EXPECT_EQ(override_pointer("platform.memory.latency_cycles"), "/platform/memory/latency_cycles");
  EXPECT_EQ(override_pointer("platform.dma_masters[0].clock_mhz"), "/platform/dma_masters/0/clock_mhz");
  EXPECT_EQ(override_pointer("steps[12]"), "/steps/12");
  EXPECT_EQ(override_pointer("seed"), "/seed");
  EXPECT_EQ(override_pointer("/platform/memory/latency_cycles"), "/platform/memory/latency_cycles");
  // Keys containing pointer metacharacters are escaped.
  EXPECT_EQ(override_pointer("a~b.c/d"), "/a~0b/c~1d");
}

TEST(OverridePointer, MalformedPathsThrow) {
  for (const char* path : {"", "a..b", ".a", "a[x]", "a[]", "a[0", "a[-1]", "a.[0]"})
    EXPECT_THROW(override_pointer(path), ConfigError) << "\"" << path << "\"";
}

TEST(ApplyOverride, DottedPathReplacesValue) {
  json doc = base_doc();
  apply_override(doc, "platform.memory.latency_cycles=120");
  EXPECT_EQ(doc["platform"]["memory"]["latency_cycles"], 120);
  EXPECT_TRUE(doc["platform"]["memory"]["latency_cycles"].is_number_integer());
  // Nothing else changed.
  json expected = base_doc();
  expected["platform"]["memory"]["latency_cycles"] = 120;
  EXPECT_EQ(doc, expected);
}

TEST(ApplyOverride, IndexedAndPointerForms) {
  json doc = base_doc();
  apply_override(doc, "platform.dma_masters[1].clock_mhz=250");
  EXPECT_EQ(doc["platform"]["dma_masters"][1]["clock_mhz"], 250);
  EXPECT_EQ(doc["platform"]["dma_masters"][0]["clock_mhz"], 1000);
  apply_override(doc, "/platform/dma_masters/0/clock_mhz=750");
  EXPECT_EQ(doc["platform"]["dma_masters"][0]["clock_mhz"], 750);
  apply_override(doc, "steps[2]=30");
  EXPECT_EQ(doc["steps"], json::parse("[1, 2, 30]"));
  apply_override(doc, "/x~1y=1");  // "~1" in a pointer is "/"
  EXPECT_EQ(doc["x/y"], 1);
}

TEST(ApplyOverride, ValueIsJsonWhenValidElseString) {
  json doc = json::object();
  apply_override(doc, "i=42");
  apply_override(doc, "f=2.5");
  apply_override(doc, "b=true");
  apply_override(doc, "n=null");
  apply_override(doc, "o={\"a\": [1, 2]}");
  apply_override(doc, "arr=[1,\"x\"]");
  apply_override(doc, "q=\"quoted\"");
  apply_override(doc, "size=4KiB");
  apply_override(doc, "hex=0x1000");
  apply_override(doc, "empty=");
  apply_override(doc, "eq=a=b");
  apply_override(doc, "word=true_ish");
  EXPECT_EQ(doc["i"], 42);
  EXPECT_TRUE(doc["i"].is_number_integer());
  EXPECT_EQ(doc["f"], 2.5);
  EXPECT_EQ(doc["b"], true);
  EXPECT_TRUE(doc["n"].is_null());
  EXPECT_EQ(doc["o"], json::parse(R"({"a": [1, 2]})"));
  EXPECT_EQ(doc["arr"], json::parse(R"([1, "x"])"));
  EXPECT_EQ(doc["q"], "quoted");
  EXPECT_EQ(doc["size"], "4KiB");
  EXPECT_EQ(doc["hex"], "0x1000");
  EXPECT_EQ(doc["empty"], "");
  EXPECT_EQ(doc["eq"], "a=b");  // only the first '=' separates path and value
  EXPECT_EQ(doc["word"], "true_ish");
}

TEST(ApplyOverride, CreatesMissingObjects) {
  json doc = base_doc();
  apply_override(doc, "platform.iommu.page_table.levels=4");
  EXPECT_EQ(doc["platform"]["iommu"], json::parse(R"({"page_table": {"levels": 4}})"));
  EXPECT_EQ(doc["platform"]["memory"]["latency_cycles"], 96);  // siblings untouched
  json empty;  // null document becomes an object
  apply_override(empty, "a.b=1");
  EXPECT_EQ(empty, json::parse(R"({"a": {"b": 1}})"));
}

TEST(ApplyOverride, ReplacesWholeSubtree) {
  json doc = base_doc();
  apply_override(doc, "platform.memory={\"size\": 4096}");
  EXPECT_EQ(doc["platform"]["memory"], json::parse(R"({"size": 4096})"));
}

TEST(ApplyOverride, IndexPastEndIsAnError) {
  json doc = base_doc();
  EXPECT_EQ(error_pointer([&] { apply_override(doc, "platform.dma_masters[2].clock_mhz=1"); }),
            "/platform/dma_masters");
  EXPECT_EQ(error_pointer([&] { apply_override(doc, "steps[3]=1"); }), "/steps");
  EXPECT_EQ(error_pointer([&] { apply_override(doc, "/steps/-=1"); }), "/steps");  // no append syntax
  EXPECT_EQ(error_pointer([&] { apply_override(doc, "/steps/x=1"); }), "/steps");
  EXPECT_EQ(doc, base_doc());  // nothing was written
}

TEST(ApplyOverride, IndexPastEndMessageNamesSize) {
  json doc = base_doc();
  try {
    apply_override(doc, "steps[5]=0");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string msg = e.issues().at(0).message;
    EXPECT_NE(msg.find("index 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("array of 3"), std::string::npos) << msg;
  }
}

TEST(ApplyOverride, CannotDescendIntoScalar) {
  json doc = base_doc();
  EXPECT_EQ(error_pointer([&] { apply_override(doc, "platform.memory.size.bytes=1"); }), "/platform/memory/size");
  EXPECT_EQ(doc, base_doc());
}

TEST(ApplyOverride, MissingEqualsIsAnError) {
  json doc = base_doc();
  EXPECT_THROW(apply_override(doc, "platform.memory.latency_cycles"), ConfigError);
  EXPECT_THROW(apply_override(doc, "=5"), ConfigError);  // empty path
  EXPECT_EQ(doc, base_doc());
}
