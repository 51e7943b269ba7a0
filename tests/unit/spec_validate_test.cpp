// Config specs: resolve() validation (pointers, messages, ranges, sizes, defaults, unions, checks) and did_you_mean.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sim/config/spec.h"

using namespace vfiosim::config;

namespace {

std::shared_ptr<ObjectSpec> memory_spec() {
  auto s = std::make_shared<ObjectSpec>("memory", "A memory");
  s->add(Field::size("size").require().describe("Capacity"));
  s->add(Field::integer("latency_cycles").at_least(1).at_most(1000).defaults(96));
  s->add(Field::integer("bytes_per_cycle").at_least(1).pow2().defaults(16));
  s->add(Field::size("page").pow2().defaults("4KiB"));
  s->add(Field::enumeration("policy", {"open", "closed"}).defaults("open"));
  s->add(Field::boolean("ecc").defaults(false));
  s->add(Field::number("efficiency").at_least(0).at_most(1).defaults(0.9));
  return s;
}

std::shared_ptr<ObjectSpec> root_spec() {
  auto platform = std::make_shared<ObjectSpec>("platform", "");
  platform->add(Field::object_of("memory", memory_spec()).require());
  auto item = std::make_shared<ObjectSpec>("item", "");
  item->add(Field::integer("b").require());
  auto root = std::make_shared<ObjectSpec>("root", "");
  root->add(Field::string("name").require());
  root->add(Field::object_of("platform", platform).require());
  root->add(Field::array_of("a", Field::object_of("", item)).defaults(json::array()));
  return root;
}

json valid_doc() {
  return json::parse(R"({"name": "x", "platform": {"memory": {"size": "1GiB"}}})");
}

// Resolves and returns the issues (empty when valid).
std::vector<Issue> issues_of(const std::shared_ptr<const ObjectSpec>& spec, const json& doc) {
  try {
    resolve_document(spec, doc);
  } catch (const ConfigError& e) {
    return e.issues();
  }
  return {};
}

// The single issue reported for `doc`; fails the test when there is not exactly one.
Issue only_issue(const json& doc) {
  const auto list = issues_of(root_spec(), doc);
  EXPECT_EQ(list.size(), 1u) << doc.dump();
  return list.empty() ? Issue{"<none>", ""} : list.front();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(SpecResolve, FillsDefaultsAndResolvesSizes) {
  const json out = resolve_document(root_spec(), valid_doc());
  const json& m = out["platform"]["memory"];
  EXPECT_EQ(m["size"], json(1073741824ULL));  // "1GiB" -> integer
  EXPECT_TRUE(m["size"].is_number_unsigned());
  EXPECT_EQ(m["latency_cycles"], 96);
  EXPECT_EQ(m["bytes_per_cycle"], 16);
  EXPECT_EQ(m["page"], json(4096));  // default written as "4KiB" is resolved too
  EXPECT_EQ(m["policy"], "open");
  EXPECT_EQ(m["ecc"], false);
  EXPECT_DOUBLE_EQ(m["efficiency"].get<double>(), 0.9);
  EXPECT_EQ(out["a"], json::array());
  EXPECT_EQ(out["name"], "x");
}

TEST(SpecResolve, SizeForms) {
  for (const auto& [written, bytes] : std::vector<std::pair<json, uint64_t>>{
           {json("4KiB"), 4096}, {json("0x1000"), 4096}, {json(4096), 4096}, {json(" 2 MiB "), 2097152}, {json("0x1B"), 27}}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["size"] = written;
    EXPECT_EQ(resolve_document(root_spec(), doc)["platform"]["memory"]["size"], json(bytes)) << written.dump();
  }
  for (const json& bad : {json("4XiB"), json(-1), json(1.5), json("20000000TiB"), json(true), json::array()}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["size"] = bad;
    const Issue i = only_issue(doc);
    EXPECT_EQ(i.pointer, "/platform/memory/size") << bad.dump();
    EXPECT_TRUE(contains(i.message, "expected a size")) << i.message;
  }
}

TEST(SpecResolve, UnknownKeyHasPointerAndDidYouMean) {
  json doc = valid_doc();
  doc["platform"]["memory"]["latency_cycle"] = 5;
  const Issue i = only_issue(doc);
  EXPECT_EQ(i.pointer, "/platform/memory/latency_cycle");
  EXPECT_TRUE(contains(i.message, "unknown key \"latency_cycle\"")) << i.message;
  EXPECT_TRUE(contains(i.message, "did you mean \"latency_cycles\"")) << i.message;
}

TEST(SpecResolve, UnknownKeyWithoutNearMatchListsAllowedKeys) {
  json doc = valid_doc();
  doc["zzzzzzzzzz"] = 1;
  const Issue i = only_issue(doc);
  EXPECT_EQ(i.pointer, "/zzzzzzzzzz");
  EXPECT_FALSE(contains(i.message, "did you mean")) << i.message;
  EXPECT_TRUE(contains(i.message, "name")) << i.message;
  EXPECT_TRUE(contains(i.message, "platform")) << i.message;
}

TEST(SpecResolve, UnknownKeyPointerIsEscaped) {
  json doc = valid_doc();
  doc["a/b~c"] = 1;
  EXPECT_EQ(only_issue(doc).pointer, "/a~1b~0c");
}

TEST(SpecResolve, MissingRequiredKeyReportedAtParent) {
  json doc = valid_doc();
  doc["platform"]["memory"].erase("size");
  const Issue i = only_issue(doc);
  EXPECT_EQ(i.pointer, "/platform/memory");
  EXPECT_TRUE(contains(i.message, "missing required key \"size\"")) << i.message;
  // At the root the pointer is "" and what() renders it as "/".
  try {
    resolve_document(root_spec(), json::parse(R"({"platform": {"memory": {"size": 1}}})"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.issues().size(), 1u);
    EXPECT_EQ(e.issues()[0].pointer, "");
    EXPECT_EQ(std::string(e.what()).rfind("/: missing required key \"name\"", 0), 0u) << e.what();
  }
}

TEST(SpecResolve, WrongTypeSaysExpectedAndGot) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"latency_cycles", json("96")}, {"latency_cycles", json(1.5)}, {"ecc", json(1)},
      {"policy", json(3)},            {"efficiency", json("high")}};
  for (const auto& [key, bad] : cases) {
    json doc = valid_doc();
    doc["platform"]["memory"][key] = bad;
    const Issue i = only_issue(doc);
    EXPECT_EQ(i.pointer, "/platform/memory/" + key);
    EXPECT_TRUE(contains(i.message, "expected")) << i.message;
    EXPECT_TRUE(contains(i.message, "got")) << i.message;
  }
  json doc = valid_doc();
  doc["name"] = json::object();
  const Issue i = only_issue(doc);
  EXPECT_EQ(i.pointer, "/name");
  EXPECT_EQ(i.message, "expected a string, got an object");
}

TEST(SpecResolve, IntegerRange) {
  for (int ok : {1, 500, 1000}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["latency_cycles"] = ok;
    EXPECT_TRUE(issues_of(root_spec(), doc).empty()) << ok;
  }
  for (int bad : {0, -5, 1001}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["latency_cycles"] = bad;
    const Issue i = only_issue(doc);
    EXPECT_EQ(i.pointer, "/platform/memory/latency_cycles");
    EXPECT_TRUE(contains(i.message, "between 1 and 1000")) << i.message;
    EXPECT_TRUE(contains(i.message, "got " + std::to_string(bad))) << i.message;
  }
}

TEST(SpecResolve, NumberRange) {
  json doc = valid_doc();
  doc["platform"]["memory"]["efficiency"] = 1.5;
  EXPECT_EQ(only_issue(doc).pointer, "/platform/memory/efficiency");
  doc["platform"]["memory"]["efficiency"] = 1;  // an integer is a number
  EXPECT_TRUE(issues_of(root_spec(), doc).empty());
}

TEST(SpecResolve, PowerOfTwo) {
  for (int ok : {1, 2, 64, 1024}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["bytes_per_cycle"] = ok;
    EXPECT_TRUE(issues_of(root_spec(), doc).empty()) << ok;
  }
  for (int bad : {3, 48, 1000}) {
    json doc = valid_doc();
    doc["platform"]["memory"]["bytes_per_cycle"] = bad;
    const Issue i = only_issue(doc);
    EXPECT_TRUE(contains(i.message, "power of two")) << i.message;
  }
  // Sizes: "8KiB" is a power of two, "12KiB" is not.
  json doc = valid_doc();
  doc["platform"]["memory"]["page"] = "8KiB";
  EXPECT_TRUE(issues_of(root_spec(), doc).empty());
  doc["platform"]["memory"]["page"] = "12KiB";
  EXPECT_EQ(only_issue(doc).pointer, "/platform/memory/page");
  doc["platform"]["memory"]["page"] = 0;
  EXPECT_EQ(only_issue(doc).pointer, "/platform/memory/page");
}

TEST(SpecResolve, EnumDidYouMean) {
  json doc = valid_doc();
  doc["platform"]["memory"]["policy"] = "opne";
  const Issue i = only_issue(doc);
  EXPECT_EQ(i.pointer, "/platform/memory/policy");
  EXPECT_TRUE(contains(i.message, "one of \"open\", \"closed\"")) << i.message;
  EXPECT_TRUE(contains(i.message, "did you mean \"open\"")) << i.message;
}

TEST(SpecResolve, NestedArrayPointers) {
  json doc = valid_doc();
  doc["a"] = json::parse(R"([{"b": 1}, {"b": 2}, {"b": "x"}, {"c": 4}])");
  const auto list = issues_of(root_spec(), doc);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].pointer, "/a/2/b");           // wrong type
  EXPECT_EQ(list[1].pointer, "/a/3/c");           // unknown key
  EXPECT_EQ(list[2].pointer, "/a/3");             // missing required "b"
  EXPECT_TRUE(contains(list[2].message, "\"b\""));
}

TEST(SpecResolve, ArrayItemCounts) {
  auto spec = std::make_shared<ObjectSpec>("r", "");
  spec->add(Field::array_of("xs", Field::integer("")).items(1, 3));
  EXPECT_TRUE(issues_of(spec, json::parse(R"({"xs": [1, 2, 3]})")).empty());
  for (const char* text : {R"({"xs": []})", R"({"xs": [1, 2, 3, 4]})"}) {
    const auto list = issues_of(spec, json::parse(text));
    ASSERT_EQ(list.size(), 1u) << text;
    EXPECT_EQ(list[0].pointer, "/xs");
    EXPECT_TRUE(contains(list[0].message, "1 to 3 items")) << list[0].message;
  }
}

TEST(SpecResolve, IssuesAreCappedWithASummary) {
  auto spec = std::make_shared<ObjectSpec>("r", "");
  spec->add(Field::array_of("xs", Field::integer("")));
  json doc = {{"xs", json::array()}};
  for (int i = 0; i < 60; ++i) doc["xs"].push_back("bad");
  const auto list = issues_of(spec, doc);
  ASSERT_EQ(list.size(), Issues::kMax + 1);
  EXPECT_EQ(list[0].pointer, "/xs/0");
  EXPECT_EQ(list[Issues::kMax - 1].pointer, "/xs/49");
  EXPECT_TRUE(contains(list.back().message, "10 further problems")) << list.back().message;
}

namespace {
std::shared_ptr<UnionSpec> steps_union() {
  auto write = std::make_shared<ObjectSpec>("write", "");
  write->add(Field::string("op").require());
  write->add(Field::size("addr").require());
  write->add(Field::size("len").defaults("64B"));
  auto delay = std::make_shared<ObjectSpec>("delay", "");
  delay->add(Field::string("op").require());
  delay->add(Field::integer("cycles").at_least(0).require());
  auto u = std::make_shared<UnionSpec>("op");
  u->add("write", write).add("delay", delay);
  return u;
}
std::shared_ptr<ObjectSpec> steps_root() {
  auto root = std::make_shared<ObjectSpec>("r", "");
  root->add(Field::array_of("steps", Field::union_of("", steps_union())));
  return root;
}
}  // namespace

TEST(SpecUnion, SelectsVariantByDiscriminator) {
  const json out = resolve_document(
      steps_root(), json::parse(R"({"steps": [{"op": "write", "addr": "0x1000"}, {"op": "delay", "cycles": 5}]})"));
  EXPECT_EQ(out["steps"][0], json::parse(R"({"op": "write", "addr": 4096, "len": 64})"));
  EXPECT_EQ(out["steps"][1], json::parse(R"({"op": "delay", "cycles": 5})"));
  // A key of the other variant is unknown here.
  const auto list = issues_of(steps_root(), json::parse(R"({"steps": [{"op": "delay", "cycles": 1, "addr": 0}]})"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/steps/0/addr");
}

TEST(SpecUnion, UnknownDiscriminatorDidYouMean) {
  const auto list = issues_of(steps_root(), json::parse(R"({"steps": [{"op": "delay", "cycles": 1}, {"op": "wrte"}]})"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/steps/1/op");
  EXPECT_TRUE(contains(list[0].message, "unknown op \"wrte\"")) << list[0].message;
  EXPECT_TRUE(contains(list[0].message, "did you mean \"write\"")) << list[0].message;
}

TEST(SpecUnion, MissingDiscriminator) {
  const auto list = issues_of(steps_root(), json::parse(R"({"steps": [{"cycles": 1}]})"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/steps/0");
  EXPECT_TRUE(contains(list[0].message, "missing \"op\"")) << list[0].message;
  EXPECT_TRUE(contains(list[0].message, "write")) << list[0].message;
  EXPECT_TRUE(contains(list[0].message, "delay")) << list[0].message;
}

TEST(SpecCheck, RunsOnlyWhenFieldsAreCleanAndSeesResolvedValues) {
  int calls = 0;
  json seen;
  auto spec = std::make_shared<ObjectSpec>("window", "");
  spec->add(Field::size("base").require());
  spec->add(Field::size("limit").defaults("1MiB"));
  spec->check([&](const json& r, const std::string& ptr, Issues& issues) {
    ++calls;
    seen = r;
    if (r["base"].get<uint64_t>() >= r["limit"].get<uint64_t>()) issues.add(ptr + "/base", "base must be below limit");
  });
  auto root = std::make_shared<ObjectSpec>("r", "");
  root->add(Field::object_of("win", spec));

  // Clean fields: the check runs once with sizes resolved and defaults filled.
  EXPECT_TRUE(issues_of(root, json::parse(R"({"win": {"base": "4KiB"}})")).empty());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, json::parse(R"({"base": 4096, "limit": 1048576})"));

  // The check's own issue is reported.
  const auto list = issues_of(root, json::parse(R"({"win": {"base": "2MiB"}})"));
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/win/base");
  EXPECT_EQ(list[0].message, "base must be below limit");

  // A field problem (or an unknown key) suppresses the check.
  EXPECT_EQ(issues_of(root, json::parse(R"({"win": {"base": "junk"}})")).size(), 1u);
  EXPECT_EQ(issues_of(root, json::parse(R"({"win": {"base": 1, "lmit": 2}})")).size(), 1u);
  EXPECT_EQ(issues_of(root, json::parse(R"({"win": {}})")).size(), 1u);
  EXPECT_EQ(calls, 2);
}

TEST(SpecOtherKeys, AllowedKeysAreValidatedWithTheirSpec) {
  auto spec = std::make_shared<ObjectSpec>("map", "");
  spec->add(Field::string("kind"));
  spec->allow_other_keys(Field::integer("").at_least(0));
  auto root = std::make_shared<ObjectSpec>("r", "");
  root->add(Field::object_of("m", spec));
  const json out = resolve_document(root, json::parse(R"({"m": {"kind": "k", "x": 1, "y": 2}})"));
  EXPECT_EQ(out["m"], json::parse(R"({"kind": "k", "x": 1, "y": 2})"));
  const auto list = issues_of(root, json::parse(R"({"m": {"z": -1}})"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].pointer, "/m/z");
}

TEST(DidYouMean, SuggestsOnlyCloseCandidates) {
  const std::vector<std::string> names = {"latency_cycles", "bytes_per_cycle", "size"};
  EXPECT_EQ(did_you_mean("latency_cycle", names), "latency_cycles");
  EXPECT_EQ(did_you_mean("sise", names), "size");
  EXPECT_EQ(did_you_mean("bytes_per_cylce", names), "bytes_per_cycle");  // transposition = 2 edits
  EXPECT_EQ(did_you_mean("frequency", names), "");
  EXPECT_EQ(did_you_mean("x", {}), "");
}

TEST(FieldExpected, HumanPhrases) {
  EXPECT_EQ(Field::integer("n").at_least(1).expected(), "an integer \u2265 1");
  EXPECT_EQ(Field::integer("n").at_most(8).expected(), "an integer \u2264 8");
  EXPECT_EQ(Field::boolean("b").expected(), "true or false");
  EXPECT_EQ(Field::enumeration("e", {"a", "b"}).expected(), "one of \"a\", \"b\"");
  EXPECT_EQ(Field::size("s").at_least(4096).expected(), "a size (e.g. 4096, \"0x1000\", \"4KiB\") \u2265 4 KiB");
}
