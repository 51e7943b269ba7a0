// Rng: xoshiro256** against a reference implementation, named streams, determinism, bounded draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "sim/base/rng.h"

using namespace vfiosim;

namespace {

// Reference xoshiro256** and splitmix64, written from the published algorithms (Blackman & Vigna).
struct RefXoshiro {
  uint64_t s[4];
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  explicit RefXoshiro(uint64_t seed) {
    for (auto& w : s) w = splitmix(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

std::vector<uint64_t> draw(Rng r, int n) {
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(r.next());
  return out;
}

}  // namespace

TEST(Rng, Splitmix64KnownAnswers) {
  // Published splitmix64 outputs for state 0.
  uint64_t state = 0;
  EXPECT_EQ(Rng::splitmix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(Rng::splitmix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(state, 2 * 0x9e3779b97f4a7c15ULL);  // the state advances by the golden gamma each call
}

TEST(Rng, HashIsFnv1a64) {
  // FNV-1a 64-bit test vectors.
  EXPECT_EQ(Rng::hash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Rng::hash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Rng::hash("foobar"), 0x85944171f73967e8ULL);
}

TEST(Rng, MatchesReferenceXoshiro256StarStar) {
  for (uint64_t seed : {0ULL, 1ULL, 42ULL, 0xdeadbeefcafef00dULL}) {
    Rng rng(seed);
    RefXoshiro ref(seed);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(rng.next(), ref.next()) << "seed " << seed << " draw " << i;
  }
}

TEST(Rng, DeterministicAcrossInstances) {
  EXPECT_EQ(draw(Rng(7), 500), draw(Rng(7), 500));
  EXPECT_EQ(draw(Rng::stream(7, "system.dma0"), 500), draw(Rng::stream(7, "system.dma0"), 500));
  EXPECT_NE(draw(Rng(7), 16), draw(Rng(8), 16));
}

TEST(Rng, StreamIsSeedXorNameHashThroughSplitmix) {
  // Documented derivation: splitmix64 of (seed ^ FNV-1a(name)) seeds the generator.
  const uint64_t seed = 1234;
  uint64_t state = seed ^ 0xaf63dc4c8601ec8cULL;  // FNV-1a("a")
  const uint64_t derived = RefXoshiro::splitmix(state);
  RefXoshiro ref(derived);
  Rng s = Rng::stream(seed, "a");
  for (int i = 0; i < 100; ++i) ASSERT_EQ(s.next(), ref.next());
}

TEST(Rng, DifferentStreamNamesAndSeedsDiffer) {
  const std::vector<std::string> names = {"system.dma0", "system.dma1", "system.memory", "", "a", "b"};
  std::set<std::vector<uint64_t>> seen;
  for (const auto& n : names) seen.insert(draw(Rng::stream(1, n), 8));
  for (const auto& n : names) seen.insert(draw(Rng::stream(2, n), 8));
  EXPECT_EQ(seen.size(), names.size() * 2);
  // Drawing from one stream does not disturb another.
  Rng a = Rng::stream(1, "system.dma0");
  Rng b = Rng::stream(1, "system.dma1");
  const auto b_alone = draw(Rng::stream(1, "system.dma1"), 10);
  for (int i = 0; i < 100; ++i) a.next();
  EXPECT_EQ(draw(b, 10), b_alone);
}

TEST(Rng, BelowStaysInRange) {
  Rng rng(99);
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  for (uint64_t bound : std::vector<uint64_t>{1ULL, 2ULL, 3ULL, 7ULL, 10ULL, 1000ULL, 1ULL << 32, (1ULL << 63) + 1, big}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(rng.below(bound), bound) << "bound " << bound;
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.below(1), 0u);
  EXPECT_EQ(rng.below(0), 0u);
}

TEST(Rng, BelowHitsEveryValueOfASmallRange) {
  Rng rng(5);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(rng.below(6));
  EXPECT_EQ(seen, (std::set<uint64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Rng, BelowIsRoughlyUniformChiSquare) {
  Rng rng = Rng::stream(2024, "chi");
  constexpr int kBins = 10;
  constexpr int kDraws = 100000;
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[rng.below(kBins)];
  const double expected = static_cast<double>(kDraws) / kBins;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 9 degrees of freedom: the 99.9% quantile is ~27.9. A loose bound still catches gross bias.
  EXPECT_LT(chi2, 40.0);
  for (int c : counts) EXPECT_NEAR(c, expected, 0.05 * expected);
}

TEST(Rng, BelowIsUnbiasedForHugeBounds) {
  // bound = 3 * 2^62. Unbiased: P(v < 2^62) = 1/3. A plain `next() % bound` would give 1/2.
  Rng rng(11);
  const uint64_t bound = 3ULL << 62;
  constexpr int kDraws = 30000;
  int low = 0, mult3 = 0;
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t v = rng.below(bound);
    low += v < (1ULL << 62);
    mult3 += v % 3 == 0;
  }
  EXPECT_NEAR(static_cast<double>(low) / kDraws, 1.0 / 3.0, 0.02);
  // Multiply-shift alone maps x to floor(3x/4): values v = 0 mod 3 get two of the 2^64 inputs, the
  // others one, so without rejection P(v % 3 == 0) = 1/2. Unbiased it is 1/3.
  EXPECT_NEAR(static_cast<double>(mult3) / kDraws, 1.0 / 3.0, 0.02);
}

TEST(Rng, UniformInUnitInterval) {
  Rng rng(3);
  double sum = 0, lo = 1, hi = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
  EXPECT_LT(lo, 0.001);
  EXPECT_GT(hi, 0.999);
  // uniform() is the top 53 bits of next() scaled by 2^-53.
  Rng a(77), b(77);
  EXPECT_EQ(a.uniform(), static_cast<double>(b.next() >> 11) / 9007199254740992.0);
}
