// The set-associative cache and its replacement policies, GapResource, and the VT-d parameter
// spec (impossible parameters rejected at their JSON pointer).
#include "tests/iommu/vtd_world.h"

using namespace vfiosim;
using namespace vfiosim::vtd_test;

namespace {
using Cache = iommu::SetAssocCache<int>;
bool has(Cache& c, uint64_t key, uint64_t index = 0) { return c.lookup(key, index) != nullptr; }
}  // namespace

TEST(VtdCache, LruEvictsTheLeastRecentlyUsedWay) {
  Cache c({4, 4, "lru"}, Rng(1));
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.sets(), 1u);
  for (uint64_t k = 1; k <= 4; ++k) EXPECT_FALSE(c.insert(k, 0, 0, static_cast<int>(k), 0));
  EXPECT_EQ(c.valid(), 4u);
  ASSERT_TRUE(has(c, 1));  // 1 is now the most recent; 2 the least
  ASSERT_TRUE(has(c, 3));
  EXPECT_TRUE(c.insert(5, 0, 0, 5, 0));
  EXPECT_FALSE(has(c, 2));
  EXPECT_TRUE(has(c, 1));
  EXPECT_TRUE(has(c, 3));
  EXPECT_TRUE(has(c, 4));
  EXPECT_TRUE(has(c, 5));
  // 1, 3, 4, 5 were touched in that order just above: 1 is now the least recently used.
  EXPECT_TRUE(c.insert(6, 0, 0, 6, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_EQ(c.valid(), 4u);
}

TEST(VtdCache, FifoEvictsTheOldestFillRegardlessOfHits) {
  Cache c({4, 4, "fifo"}, Rng(1));
  for (uint64_t k = 1; k <= 4; ++k) c.insert(k, 0, 0, static_cast<int>(k), 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(has(c, 1));  // hits do not protect 1
  EXPECT_TRUE(c.insert(5, 0, 0, 5, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_TRUE(has(c, 2));
  EXPECT_TRUE(c.insert(6, 0, 0, 6, 0));
  EXPECT_FALSE(has(c, 2));
  EXPECT_TRUE(has(c, 3));
}

TEST(VtdCache, RandomReplacementIsDeterministicForASeed) {
  auto survivors = [](uint64_t seed) {
    Cache c({8, 8, "random"}, Rng(seed));
    std::vector<uint64_t> out;
    for (uint64_t k = 1; k <= 40; ++k) c.insert(k, 0, 0, 0, 0);
    for (uint64_t k = 1; k <= 40; ++k)
      if (c.lookup(k, 0)) out.push_back(k);
    return out;
  };
  const auto a = survivors(42), b = survivors(42);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_TRUE(std::find(a.begin(), a.end(), 40u) != a.end()) << "the last fill is present";
  bool any_differs = false;
  for (uint64_t seed = 1; seed <= 8 && !any_differs; ++seed) any_differs = survivors(seed) != a;
  EXPECT_TRUE(any_differs) << "the seed matters";
}

TEST(VtdCache, ZeroEntriesDisablesTheCache) {
  Cache c({0, 1, "lru"}, Rng(1));
  EXPECT_FALSE(c.enabled());
  EXPECT_FALSE(c.insert(1, 0, 0, 1, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_EQ(c.valid(), 0u);
  EXPECT_EQ(c.invalidate_all(), 0u);
}

TEST(VtdCache, InvalidateIfDropsMatchingEntriesAndCountsThem) {
  Cache c({8, 2, "lru"}, Rng(1));  // 4 sets
  for (uint64_t k = 0; k < 6; ++k) c.insert(k, k, static_cast<uint16_t>(k % 2 ? 1 : 2), 0, 0);
  EXPECT_EQ(c.valid(), 6u);
  EXPECT_EQ(c.invalidate_if([](const Cache::Entry& e) { return e.did == 1; }), 3u);
  EXPECT_EQ(c.valid(), 3u);
  for (uint64_t k = 0; k < 6; ++k) EXPECT_EQ(has(c, k, k), k % 2 == 0) << k;
  EXPECT_EQ(c.invalidate_if([](const Cache::Entry& e) { return e.did == 1; }), 0u);
  EXPECT_EQ(c.invalidate_all(), 3u);
  EXPECT_EQ(c.valid(), 0u);
}

TEST(VtdCache, IndexSelectsTheSetSoOtherSetsAreUnaffected) {
  Cache c({8, 2, "lru"}, Rng(1));  // 4 sets of 2
  EXPECT_EQ(c.sets(), 4u);
  EXPECT_EQ(c.ways(), 2u);
  c.insert(100, 1, 0, 0, 0);  // set 1
  c.insert(10, 0, 0, 0, 0);   // set 0
  c.insert(20, 4, 0, 0, 0);   // set 0
  EXPECT_TRUE(c.insert(30, 8, 0, 0, 0));  // set 0 full: evicts 10 (LRU)
  EXPECT_FALSE(has(c, 10, 0));
  EXPECT_TRUE(has(c, 100, 1));
  EXPECT_FALSE(has(c, 100, 2)) << "looked up in the wrong set";
  EXPECT_EQ(c.valid(), 3u);
}

TEST(VtdCache, ReinsertingAKeyReplacesItInPlace) {
  Cache c({4, 4, "lru"}, Rng(1));
  EXPECT_FALSE(c.insert(7, 0, 3, 1, 100));
  EXPECT_FALSE(c.insert(7, 0, 3, 2, 200));
  EXPECT_EQ(c.valid(), 1u);
  auto* e = c.lookup(7, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, 2);
  EXPECT_EQ(e->ready_ps, 200u);
  EXPECT_EQ(c.invalidate_all(), 1u);
  EXPECT_EQ(c.valid(), 0u);
}

TEST(VtdCache, UnknownReplacementPolicyIsRejected) {
  EXPECT_THROW(iommu::make_policy("plru", 1, 4, Rng(1)), std::invalid_argument);
}

TEST(GapResource, BookingInTheFutureLeavesAnEarlierGapUsable) {
  GapResource g;
  EXPECT_EQ(g.reserve(100, 10, 0), 100u);  // [100, 110)
  EXPECT_EQ(g.reserve(0, 10, 0), 0u);      // ready now: not held up by the future booking
  EXPECT_EQ(g.reserve(5, 20, 0), 10u);     // [10, 30) fits before 100
  EXPECT_EQ(g.reserve(95, 10, 0), 110u);   // [95, 105) would overlap: after 110
  EXPECT_EQ(g.reserve(80, 20, 0), 80u);    // exactly fills [80, 100)
  EXPECT_EQ(g.busy_cycles(), 70u);
  EXPECT_EQ(g.waited_cycles(), 5u + 15u);
}

TEST(GapResource, InOrderBookingsBehaveLikeCycleResource) {
  GapResource g;
  CycleResource c;
  const std::vector<std::pair<uint64_t, uint64_t>> reqs = {{0, 4}, {1, 4}, {2, 1}, {20, 3}, {20, 3}, {22, 10}, {50, 1}};
  for (const auto& [at, n] : reqs) EXPECT_EQ(g.reserve(at, n, at), c.reserve(at, n)) << at;
  EXPECT_EQ(g.busy_cycles(), c.busy_cycles());
  EXPECT_EQ(g.waited_cycles(), c.waited_cycles());
}

TEST(GapResource, AdjacentIntervalsMergeAndPastOnesArePruned) {
  GapResource g;
  g.reserve(0, 10, 0);
  g.reserve(10, 10, 0);
  EXPECT_EQ(g.intervals(), 1u);
  g.reserve(40, 5, 0);
  EXPECT_EQ(g.intervals(), 2u);
  g.reserve(100, 1, 100);  // appended after everything: past intervals are kept for now
  EXPECT_EQ(g.intervals(), 3u);
  // Pruning is lazy on the append path: once more than 32 intervals accumulate, the ones that
  // ended before the current cycle go.
  for (uint64_t i = 0; i < 40; ++i) g.reserve(200 + 10 * i, 1, 200 + 10 * i);
  EXPECT_LE(g.intervals(), 33u);
  // A booking in a gap (the slow path) prunes at once.
  g.reserve(1000, 1, 1000);
  g.reserve(995, 1, 995);
  EXPECT_LE(g.intervals(), 3u);
}

// ---------------------------------------------------------------------------------------------
// 12. VtdParams spec and presets.

namespace {

std::shared_ptr<const config::ObjectSpec> root_spec() {
  static const auto root = [] {
    auto r = std::make_shared<config::ObjectSpec>("root", "test root");
    r->add(config::Field::object_of("iommu", VtdParams::spec()).defaults(json::object()).describe("IOMMU"));
    return r;
  }();
  return root;
}

std::vector<config::Issue> issues_of(const json& doc, std::string* what = nullptr) {
  try {
    config::resolve_document(root_spec(), doc);
  } catch (const config::ConfigError& e) {
    if (what) *what = e.what();
    return e.issues();
  }
  return {};
}

void expect_single_issue_at(const json& doc, const std::string& pointer) {
  std::string what;
  const auto issues = issues_of(doc, &what);
  ASSERT_EQ(issues.size(), 1u) << doc.dump() << "\n" << what;
  EXPECT_EQ(issues[0].pointer, pointer) << issues[0].message;
  EXPECT_NE(what.find(pointer), std::string::npos) << what;
}

}  // namespace

TEST(VtdParamsSpec, WaysNotDividingEntriesIsRejectedAtTheWaysPointer) {
  expect_single_issue_at({{"iommu", {{"iotlb", {{"entries", 64}, {"ways", 3}}}}}}, "/iommu/iotlb/ways");
  expect_single_issue_at({{"iommu", {{"pwc", {{"l2", {{"entries", 4}, {"ways", 8}}}}}}}}, "/iommu/pwc/l2/ways");
}

TEST(VtdParamsSpec, LevelSixIsRejectedAtItsIndex) {
  expect_single_issue_at({{"iommu", {{"levels", {4, 6}}}}}, "/iommu/levels/1");
  expect_single_issue_at({{"iommu", {{"levels", {4, 4}}}}}, "/iommu/levels/1");
}

TEST(VtdParamsSpec, ZeroWalkersIsRejected) { expect_single_issue_at({{"iommu", {{"walkers", 0}}}}, "/iommu/walkers"); }

TEST(VtdParamsSpec, OddDomainBitsAreRejected) {
  expect_single_issue_at({{"iommu", {{"domain_bits", 7}}}}, "/iommu/domain_bits");
}

TEST(VtdParamsSpec, EmptyObjectResolvesToTheStructDefaults) {
  const json r = config::resolve_document(root_spec(), json::object());
  const VtdParams p = VtdParams::from(r.at("iommu")), d;
  EXPECT_EQ(p.base, d.base);
  EXPECT_EQ(p.levels, d.levels);
  EXPECT_EQ(p.fault_records, d.fault_records);
  EXPECT_EQ(p.walkers, d.walkers);
  EXPECT_EQ(p.iotlb.entries, d.iotlb.entries);
  EXPECT_EQ(p.iotlb.ways, d.iotlb.ways);
  EXPECT_EQ(p.pwc[0].entries, d.pwc[0].entries);
  EXPECT_EQ(p.lookup_cycles, d.lookup_cycles);
  EXPECT_EQ(p.cap(), d.cap());
  EXPECT_EQ(p.ecap(), d.ecap());
}

TEST(VtdParamsSpec, BroadwellPresetFillsFieldsAndWrittenFieldsWin) {
  const json written = {{"preset", "broadwell-vtd"}, {"walkers", 2}, {"pwc", {{"l1", {{"entries", 8}}}}}};
  const json expanded = VtdParams::expand_preset(written);
  EXPECT_EQ(expanded["walkers"], 2);
  EXPECT_EQ(expanded["pwc"]["l1"]["entries"], 8);
  EXPECT_TRUE(expanded["pwc"].contains("l2")) << "preset fields next to written ones stay";
  const json r = config::resolve_document(root_spec(), {{"iommu", expanded}});
  const VtdParams p = VtdParams::from(r.at("iommu")), d;
  EXPECT_EQ(p.walkers, 2u);
  EXPECT_EQ(p.pwc[0].entries, 8u);
  EXPECT_NE(p.fabric_cycles, d.fabric_cycles) << "the preset sets the fabric latency";
  EXPECT_EQ(p.fabric_cycles, 25u);
  EXPECT_EQ(p.pwc[3].entries, 0u);
  EXPECT_EQ(p.levels, std::vector<unsigned>{4});
  // Unknown or absent presets leave the layer as written.
  const json plain = {{"walkers", 3}};
  EXPECT_EQ(VtdParams::expand_preset(plain), plain);
  const json unknown = {{"preset", "nope"}, {"walkers", 3}};
  EXPECT_EQ(VtdParams::expand_preset(unknown), unknown);
  const auto names = VtdParams::preset_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "broadwell-vtd"), names.end());
  EXPECT_FALSE(issues_of({{"iommu", {{"preset", "nope"}}}}).empty()) << "unknown preset names are rejected";
}
