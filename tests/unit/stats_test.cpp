// Stats: counter/gauge/average/histogram JSON and text, Distribution nearest-rank percentiles and merge, Group tree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "sim/stats/group.h"

using namespace vfiosim::stats;
using nlohmann::json;

namespace {
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST(Stats, CounterJsonAndText) {
  Counter c("reads", "requests", "Read requests served");
  ++c;
  c += 41;
  EXPECT_EQ(c.value(), 42u);
  EXPECT_EQ(c.to_json(), json::parse(R"({"unit": "requests", "desc": "Read requests served", "value": 42})"));
  std::ostringstream out;
  c.write_text(out, "system.memory.reads");
  const std::string line = out.str();
  EXPECT_EQ(line.rfind("system.memory.reads", 0), 0u) << line;
  EXPECT_TRUE(contains(line, " 42  # Read requests served (requests)\n")) << line;
  c.reset();
  EXPECT_EQ(c.value(), 0u);
}

TEST(Stats, GaugeSetMaxWithAndRounding) {
  Gauge g("depth", "entries", "Queue depth high-water mark");
  g.max_with(3);
  g.max_with(7);
  g.max_with(5);
  EXPECT_EQ(g.value(), 7.0);
  g.set(1.23456789);
  const json j = g.to_json();
  EXPECT_EQ(j["unit"], "entries");
  EXPECT_EQ(j["desc"], "Queue depth high-water mark");
  EXPECT_DOUBLE_EQ(j["value"].get<double>(), 1.234568);  // rounded to 6 decimals
  std::ostringstream out;
  g.write_text(out, "q.depth");
  EXPECT_TRUE(contains(out.str(), " 1.234568  # Queue depth high-water mark (entries)")) << out.str();
}

TEST(Stats, AverageMeanAndSamples) {
  Average a("lat", "ns", "Mean latency");
  EXPECT_EQ(a.mean(), 0.0);  // no samples: 0, not NaN
  for (double v : {1.0, 2.0, 4.0}) a.sample(v);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_DOUBLE_EQ(a.mean(), 7.0 / 3.0);
  const json j = a.to_json();
  EXPECT_EQ(j["unit"], "ns");
  EXPECT_EQ(j["desc"], "Mean latency");
  EXPECT_EQ(j["samples"], 3);
  EXPECT_DOUBLE_EQ(j["mean"].get<double>(), 2.333333);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
}

TEST(Stats, TextNumber) {
  EXPECT_EQ(text_number(3.0), "3");
  EXPECT_EQ(text_number(-2.0), "-2");
  EXPECT_EQ(text_number(2.5), "2.5");
  EXPECT_EQ(text_number(1.0 / 3.0), "0.333333");
  EXPECT_EQ(text_number(0.0), "0");
}

TEST(Distribution, NearestRankOnOneToHundred) {
  Distribution d;
  for (uint64_t v = 100; v >= 1; --v) d.sample(v);  // order must not matter
  EXPECT_EQ(d.count(), 100u);
  EXPECT_EQ(d.min(), 1u);
  EXPECT_EQ(d.max(), 100u);
  EXPECT_DOUBLE_EQ(d.mean(), 50.5);
  EXPECT_EQ(d.percentile(50), 50u);
  EXPECT_EQ(d.percentile(90), 90u);
  EXPECT_EQ(d.percentile(99), 99u);
  EXPECT_EQ(d.percentile(100), 100u);
  // For 1..100 the nearest-rank p-th percentile is ceil(p) for every p in (0, 100].
  for (int p = 1; p <= 100; ++p) ASSERT_EQ(d.percentile(p), static_cast<uint64_t>(p)) << "p" << p;
  EXPECT_EQ(d.percentile(99.5), 100u);
  EXPECT_EQ(d.percentile(0.5), 1u);
  EXPECT_EQ(d.distinct(), 100u);
}

TEST(Distribution, TextbookExample) {
  // Nearest-rank example {15, 20, 35, 40, 50}: rank = ceil(p/100 * 5).
  Distribution d;
  for (uint64_t v : {40, 15, 50, 35, 20}) d.sample(v);
  EXPECT_EQ(d.percentile(5), 15u);    // rank 1
  EXPECT_EQ(d.percentile(30), 20u);   // rank 2
  EXPECT_EQ(d.percentile(40), 20u);   // rank 2
  EXPECT_EQ(d.percentile(50), 35u);   // rank 3
  EXPECT_EQ(d.percentile(90), 50u);   // rank 5
  EXPECT_EQ(d.percentile(100), 50u);
}

TEST(Distribution, WeightedSamplesAndSmallSets) {
  Distribution d;
  d.sample(10, 9);  // nine samples of 10
  d.sample(1000);   // one outlier
  d.sample(5, 0);   // zero times: ignored
  EXPECT_EQ(d.count(), 10u);
  EXPECT_EQ(d.min(), 10u);
  EXPECT_EQ(d.percentile(90), 10u);   // rank 9
  EXPECT_EQ(d.percentile(91), 1000u); // rank ceil(9.1) = 10
  EXPECT_DOUBLE_EQ(d.mean(), (9 * 10 + 1000) / 10.0);
  Distribution one;
  one.sample(7);
  EXPECT_EQ(one.percentile(1), 7u);
  EXPECT_EQ(one.percentile(50), 7u);
  EXPECT_EQ(one.percentile(100), 7u);
}

TEST(Distribution, EmptyIsAllZero) {
  Distribution d;
  EXPECT_EQ(d.count(), 0u);
  EXPECT_EQ(d.min(), 0u);
  EXPECT_EQ(d.max(), 0u);
  EXPECT_EQ(d.mean(), 0.0);
  EXPECT_EQ(d.percentile(50), 0u);
}

TEST(Distribution, MeanOfHugeValuesDoesNotOverflow) {
  Distribution d;
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  d.sample(big);
  d.sample(big - 2);
  // The 64-bit sum would wrap; the true mean is 2^64 - 2 ~ 1.8446744e19.
  EXPECT_NEAR(d.mean(), 18446744073709551614.0, 1e4);
}

TEST(Distribution, MergeEqualsSamplingEverything) {
  Distribution a, b, all;
  for (uint64_t v = 1; v <= 50; ++v) {
    a.sample(v);
    all.sample(v);
  }
  for (uint64_t v = 51; v <= 100; ++v) {
    b.sample(v, 2);
    all.sample(v, 2);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), 150u);
  EXPECT_EQ(a.max(), 100u);
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  // By hand: values 1..50 once, 51..100 twice. Rank 75 (p50): 50 + 2*12 = 74 < 75 <= 76 -> 63.
  EXPECT_EQ(a.percentile(50), 63u);
  for (double p : {1.0, 10.0, 33.3, 50.0, 90.0, 99.0, 100.0}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  EXPECT_EQ(b.count(), 100u);  // the source is untouched
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.distinct(), 0u);
}

TEST(Histogram, JsonSummaryWithScale) {
  Histogram h("latency", "ns", "Read latency", 1e-3);  // samples in ps, reported in ns
  for (uint64_t ns = 1; ns <= 100; ++ns) h.sample(ns * 1000);
  const json j = h.to_json();
  EXPECT_EQ(j["unit"], "ns");
  EXPECT_EQ(j["desc"], "Read latency");
  EXPECT_EQ(j["count"], 100);
  EXPECT_DOUBLE_EQ(j["mean"].get<double>(), 50.5);
  EXPECT_DOUBLE_EQ(j["min"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["p50"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(j["p90"].get<double>(), 90.0);
  EXPECT_DOUBLE_EQ(j["p99"].get<double>(), 99.0);
  EXPECT_DOUBLE_EQ(j["max"].get<double>(), 100.0);
  h.reset();
  EXPECT_EQ(h.to_json()["count"], 0);
}

TEST(Histogram, WriteTextHasOneLinePerSummaryKey) {
  Histogram h("lat", "ns", "Latency");
  for (uint64_t v : {1, 2, 3, 4}) h.sample(v);
  std::ostringstream out;
  h.write_text(out, "sys.lat");
  const std::string text = out.str();
  EXPECT_TRUE(contains(text, "sys.lat::count")) << text;
  EXPECT_TRUE(contains(text, " 4  # Latency (samples)")) << text;  // count is in samples
  EXPECT_TRUE(contains(text, "sys.lat::mean")) << text;
  EXPECT_TRUE(contains(text, " 2.5  # Latency (ns)")) << text;
  EXPECT_TRUE(contains(text, "sys.lat::p99")) << text;
  EXPECT_TRUE(contains(text, "sys.lat::max")) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);  // count, mean, p50, p90, p99, max
}

TEST(Group, TreeLookupByDottedPath) {
  Group root("system");
  Group& a = root.child("a");
  Group& b = a.child("b");
  Counter& c = b.counter("c", "events", "Events");
  c += 5;
  EXPECT_EQ(&root.child("a"), &a);  // created once
  EXPECT_EQ(b.path(), "system.a.b");
  EXPECT_EQ(root.lookup("a.b.c"), &c);
  EXPECT_EQ(a.lookup("b.c"), &c);
  EXPECT_EQ(root.lookup("a.b.missing"), nullptr);
  EXPECT_EQ(root.lookup("a.x.c"), nullptr);
  EXPECT_EQ(root.lookup("a.b"), nullptr);  // a group is not a stat
  EXPECT_EQ(root.find_child("a"), &a);
  EXPECT_EQ(root.find_child("b"), nullptr);
}

TEST(Group, DuplicateRegistrationThrows) {
  Group root("system");
  root.counter("x", "events", "X");
  EXPECT_THROW(root.counter("x", "events", "X again"), std::logic_error);
  EXPECT_THROW(root.gauge("x", "u", "d"), std::logic_error);
  EXPECT_THROW(root.histogram("x", "u", "d"), std::logic_error);
  root.child("sub");
  EXPECT_THROW(root.average("sub", "u", "d"), std::logic_error);  // clashes with a child group
  // The same name in different groups is fine.
  EXPECT_NO_THROW(root.child("sub").counter("x", "events", "X"));
}

TEST(Group, ChildGroupCannotShadowAStat) {
  // A stat and a child group share one key in to_json(); a clash would silently drop the stat.
  Group root("system");
  root.counter("memory", "bytes", "Bytes");
  EXPECT_THROW(root.child("memory"), std::logic_error);
  EXPECT_NE(root.lookup("memory"), nullptr);
}

TEST(Group, ToJsonNestsGroupsAndStats) {
  Group root("system");
  root.counter("ticks", "cycles", "Cycles simulated") += 3;
  root.child("memory").counter("reads", "requests", "Reads") += 2;
  root.child("memory").gauge("level", "entries", "Level").set(0.5);
  const json j = root.to_json();
  EXPECT_EQ(j["ticks"]["value"], 3);
  EXPECT_EQ(j["memory"]["reads"], json::parse(R"({"unit": "requests", "desc": "Reads", "value": 2})"));
  EXPECT_DOUBLE_EQ(j["memory"]["level"]["value"].get<double>(), 0.5);
  EXPECT_EQ(j.size(), 2u);
}

TEST(Group, WriteTextHasPathsAndDescriptions) {
  Group root("system");
  root.counter("ticks", "cycles", "Cycles simulated") += 3;
  root.child("memory").child("ctrl").counter("reads", "requests", "Read requests served") += 7;
  std::ostringstream out;
  root.write_text(out);
  const std::string text = out.str();
  EXPECT_TRUE(contains(text, "system.ticks")) << text;
  EXPECT_TRUE(contains(text, "Cycles simulated (cycles)")) << text;
  EXPECT_TRUE(contains(text, "system.memory.ctrl.reads")) << text;
  EXPECT_TRUE(contains(text, " 7  # Read requests served (requests)")) << text;
  EXPECT_LT(text.find("system.ticks"), text.find("system.memory.ctrl.reads"));  // own stats first
}

TEST(Group, ResetIsRecursive) {
  Group root("system");
  Counter& top = root.counter("n", "e", "d");
  Counter& deep = root.child("a").child("b").counter("n", "e", "d");
  Histogram& h = root.child("a").histogram("h", "ns", "d");
  top += 1;
  deep += 2;
  h.sample(5);
  root.reset();
  EXPECT_EQ(top.value(), 0u);
  EXPECT_EQ(deep.value(), 0u);
  EXPECT_EQ(h.dist().count(), 0u);
}
