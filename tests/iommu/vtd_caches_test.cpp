// VT-d model: IOTLB hits and merged misses, the walker pool, and the paging-structure caches.
#include "tests/iommu/vtd_world.h"

using namespace vfiosim;
using namespace vfiosim::vtd_test;

TEST(VtdIotlb, SecondAccessToSamePageHitsAndTranslatesFaster) {
  World w;
  const uint64_t iova = 0x33000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x44000000, 1);
  w.fill(0x44000000 + 0x100, 0x1111);
  w.fill(0x44000000 + 0x200, 0x2222);
  Access first, second;
  uint64_t v1 = 0, v2 = 0, reads_after_first = 0;
  sctest::run_in_thread([&] {
    w.enable();
    align_us();
    first = w.sw().read(kRid, iova + 0x100, &v1, 8);
    reads_after_first = w.b.count("mem_read");
    align_us();
    second = w.sw().read(kRid, iova + 0x200, &v2, 8);
  });
  EXPECT_EQ(v1, 0x1111u);
  EXPECT_EQ(v2, 0x2222u);
  EXPECT_EQ(w.b.count("iotlb_miss"), 1u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 1u);
  EXPECT_EQ(w.b.count("mem_read"), reads_after_first) << "a hit reads no table entry";
  EXPECT_LT(second.latency(), first.latency());
  const auto& lat = w.b.dist("translation_latency");
  ASSERT_EQ(lat.count(), 2u);
  const uint64_t cycle_ps = 1000000 / w.b.params.clock_mhz;
  EXPECT_EQ(lat.min(), w.b.params.lookup_cycles * cycle_ps) << "a hit costs the lookup only";
  // Same data phase for both reads: the difference in completion is the difference in translation
  // (to within one memory clock, where each data read is aligned to the 1200 MHz memory clock).
  const double mem_cycle_ps = 1e6 / static_cast<double>(memory_params().clock_mhz);
  EXPECT_NEAR(static_cast<double>(first.latency() - second.latency()), static_cast<double>(lat.max() - lat.min()),
              mem_cycle_ps);
}

TEST(VtdIotlb, ConcurrentMissesToOnePageShareOneWalk) {
  World w;
  const uint64_t iova = 0x77000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x45000000, 1);
  w.fill(0x45000000, 0xAAAA);
  w.fill(0x45000008, 0xBBBB);
  Access a, b;
  uint64_t va = 0, vb = 0;
  sctest::run_in_thread([&] {
    w.enable();
    align_us();
    a = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, iova, &va, 8);
    b = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, iova + 8, &vb, 8);  // same sc_time
    EXPECT_EQ(a.start_ps, b.start_ps);
    wait_until(std::max(a.done_ps, b.done_ps));
  });
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(va, 0xAAAAu);
  EXPECT_EQ(vb, 0xBBBBu);
  EXPECT_EQ(w.b.count("walks"), 1u);
  EXPECT_EQ(w.b.count("walks_merged"), 1u);
  EXPECT_EQ(w.b.count("iotlb_miss"), 2u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 0u);
  EXPECT_EQ(w.b.count("mem_read"), 2u + 4u) << "one context fetch, one 4-level walk";
  // The merged request cannot finish before the walk it waited for.
  EXPECT_GE(b.done_ps, a.done_ps);
  const auto& lat = w.b.dist("translation_latency");
  EXPECT_EQ(lat.min(), lat.max()) << "both translations are known when the one walk ends";
}

TEST(VtdIotlb, SuperpageEntryCoversEveryAddressOfThePage) {
  World w;
  const uint64_t iova = 0x40000000;  // 1 GiB region 1, one 2 MiB leaf
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x60000000, 2);
  w.fill(0x60000000 + 0x1F0000, 0x51);
  w.fill(0x60000000 + 0x000008, 0x52);
  uint64_t a = 0, b = 0;
  sctest::run_in_thread([&] {
    w.enable();
    a = w.read_u64(kRid, iova + 0x1F0000);
    b = w.read_u64(kRid, iova + 0x8);
  });
  EXPECT_EQ(a, 0x51u);
  EXPECT_EQ(b, 0x52u);
  EXPECT_EQ(w.b.count("walks"), 1u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 1u);
}

// ---------------------------------------------------------------------------------------------
// 7. Walkers.

namespace {

struct TwoMisses {
  Access a, b;
  uint64_t walk_min = 0, walker_wait_max = 0, walks = 0;
};

// Two simultaneous IOTLB misses to pages with no table entries in common (different PML4
// entries), after the context is cached; paging-structure caches off so both walks read 4 entries.
TwoMisses two_misses(unsigned walkers) {
  VtdParams p;
  p.walkers = walkers;
  for (auto& c : p.pwc) c = {0, 1, "lru"};
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t warm = 0x1000, ia = (1ULL << 39) + 0x2000, ib = (2ULL << 39) + 0x3000;
  w.t.map(top, 4, warm, 0x41000000, 1);
  w.t.map(top, 4, ia, 0x42000000, 1);
  w.t.map(top, 4, ib, 0x43000000, 1);
  w.fill(0x42000000, 0xA);
  w.fill(0x43000000, 0xB);
  TwoMisses r;
  uint64_t va = 0, vb = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, warm);
    align_us();
    r.a = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, ia, &va, 8);
    r.b = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, ib, &vb, 8);
    wait_until(std::max(r.a.done_ps, r.b.done_ps));
  });
  EXPECT_TRUE(r.a.ok());
  EXPECT_TRUE(r.b.ok());
  EXPECT_EQ(va, 0xAu);
  EXPECT_EQ(vb, 0xBu);
  r.walk_min = w.b.dist("walk_latency").min();
  r.walker_wait_max = w.b.dist("walker_wait").max();
  r.walks = w.b.count("walks");
  return r;
}

}  // namespace

TEST(VtdWalkers, OneWalkerSerialisesTwoMissesToDifferentPages) {
  const TwoMisses r = two_misses(1);
  EXPECT_EQ(r.walks, 3u);
  ASSERT_GT(r.walk_min, 0u);
  // The second walk starts when the first ends. (Each DMA's data read is aligned to the 1200 MHz
  // memory clock, so the completions may differ from the walks by less than one memory cycle.)
  const uint64_t mem_cycle_ps = (1000000 + memory_params().clock_mhz - 1) / memory_params().clock_mhz;
  EXPECT_GE(r.b.done_ps + mem_cycle_ps, r.a.done_ps + r.walk_min);
  EXPECT_GE(r.walker_wait_max, r.walk_min);
}

TEST(VtdWalkers, TwoWalkersOverlapTwoMissesToDifferentPages) {
  const TwoMisses r = two_misses(2);
  EXPECT_EQ(r.walks, 3u);
  ASSERT_GT(r.walk_min, 0u);
  const uint64_t gap = r.b.done_ps > r.a.done_ps ? r.b.done_ps - r.a.done_ps : r.a.done_ps - r.b.done_ps;
  EXPECT_LT(gap, r.walk_min) << "both walks run at once";
  EXPECT_EQ(r.walker_wait_max, 0u);
}

// ---------------------------------------------------------------------------------------------
// 8. Paging-structure caches.

namespace {

struct NeighbourWalk {
  uint64_t reads_first = 0, reads_second = 0;
  uint64_t l1_miss = 0, l2_miss = 0, l3_miss = 0;
  uint64_t walk_first = 0, walk_second = 0;
};

// One walk to page A, then a miss to A + 4 KiB (same page table, same 2 MiB region).
NeighbourWalk neighbour_walk(const VtdParams& p) {
  World w(p);
  const uint64_t a = 0x8040000000ULL + 0x5000;  // PML4 index 1, PDPT index 1, PT index 5
  const uint64_t top = w.add_device(kRid, kDid);
  w.t.map(top, 4, a, 0x46000000, 1);
  w.t.map(top, 4, a + 0x1000, 0x46100000, 1);
  w.fill(0x46100000 + 0x18, 0xCAFE);
  NeighbourWalk r;
  uint64_t got = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, a);
    r.reads_first = w.b.count("mem_read");
    got = w.read_u64(kRid, a + 0x1018);
    r.reads_second = w.b.count("mem_read") - r.reads_first;
  });
  EXPECT_EQ(got, 0xCAFEu);
  EXPECT_EQ(w.b.count("walks"), 2u);
  r.l1_miss = w.b.count("pwc_l1_miss");
  r.l2_miss = w.b.count("pwc_l2_miss");
  r.l3_miss = w.b.count("pwc_l3_miss");
  r.walk_first = w.b.dist("walk_latency").max();
  r.walk_second = w.b.dist("walk_latency").min();
  return r;
}

}  // namespace

TEST(VtdPagingStructureCache, PdeCacheHitReadsOnlyTheLeafEntry) {
  const NeighbourWalk r = neighbour_walk(VtdParams{});
  EXPECT_EQ(r.reads_first, 2u + 4u);
  EXPECT_EQ(r.reads_second, 1u);
  EXPECT_EQ(r.l1_miss, 1u);  // only the first walk missed the PDE cache
  EXPECT_EQ(r.l2_miss, 1u);
  EXPECT_EQ(r.l3_miss, 1u);
  EXPECT_LT(r.walk_second, r.walk_first);
}

TEST(VtdPagingStructureCache, WithoutPdeCacheNeighbourMissReadsPdeAndPte) {
  VtdParams p;
  p.pwc[0] = {0, 1, "lru"};
  const NeighbourWalk r = neighbour_walk(p);
  EXPECT_EQ(r.reads_first, 2u + 4u);
  EXPECT_EQ(r.reads_second, 2u);  // the PDPTE cache holds the page directory
  EXPECT_EQ(r.l1_miss, 2u);
  EXPECT_EQ(r.l2_miss, 1u);
  EXPECT_LT(r.walk_second, r.walk_first);
}

TEST(VtdPagingStructureCache, WithAllPagingCachesOffEveryWalkReadsAllLevels) {
  VtdParams p;
  for (auto& c : p.pwc) c = {0, 1, "lru"};
  const NeighbourWalk r = neighbour_walk(p);
  EXPECT_EQ(r.reads_second, 4u);
  EXPECT_EQ(r.l1_miss, 2u);
  EXPECT_EQ(r.l2_miss, 2u);
  EXPECT_EQ(r.l3_miss, 2u);
}

TEST(VtdPagingStructureCache, FiveLevelWalkStartsBelowTheDeepestCachedEntry) {
  VtdParams p;
  p.levels = {5};
  p.pwc[0] = {0, 1, "lru"};  // no PDE cache
  p.pwc[1] = {0, 1, "lru"};  // no PDPTE cache: the PML4E cache is the deepest
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t a = sample_iova(5) & ~0xFFFULL;
  const uint64_t b = a + (1ULL << 30);  // another 1 GiB region under the same PML4E
  w.t.map(top, 5, a, 0x47000000, 1);
  w.t.map(top, 5, b, 0x47100000, 1);
  uint64_t second = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, a);
    const uint64_t before = w.b.count("mem_read");
    w.read_u64(kRid, b);
    second = w.b.count("mem_read") - before;
  });
  EXPECT_EQ(second, 3u);  // PDPTE, PDE, PTE
  EXPECT_EQ(w.b.count("pwc_l4_miss"), 1u);
  EXPECT_EQ(w.b.count("pwc_l3_miss"), 1u);
  EXPECT_EQ(w.b.count("pwc_l2_miss"), 2u);
}

// ---------------------------------------------------------------------------------------------
// 9. Queued invalidation.
