// ClockDomain exact cycle <-> ps conversion (ceil(n*1e12/f), no drift, align_up) and CycleResource booking.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "sim/base/clock.h"
#include "sim/base/int128.h"
#include "sim/base/resource.h"

using namespace vfiosim;
using sc_core::sc_time;

namespace {

// Independent hand formula for an integer-MHz domain: cycle n starts at ceil(n * 1e12 / (mhz * 1e6))
// = ceil(n * 1e6 / mhz) ps. Exact in 64 bits for n <= 1e12.
uint64_t hand_ps(uint64_t n, uint64_t mhz) { return (n * 1000000ULL + mhz - 1) / mhz; }

// Checks that `c` is the first cycle of a `mhz` domain beginning at or after `ps`.
void expect_first_at_or_after(uint64_t c, uint64_t ps, uint64_t mhz) {
  EXPECT_GE(hand_ps(c, mhz), ps) << "cycle " << c << " starts before " << ps;
  if (c > 0) {
    EXPECT_LT(hand_ps(c - 1, mhz), ps) << "cycle " << c - 1 << " already starts at or after " << ps;
  }
}

}  // namespace

TEST(ClockDomain, PeriodsAt1200MHzAre833Or834) {
  const ClockDomain clk("cpu", 1200000000ULL);
  EXPECT_EQ(clk.ps_of(0), 0u);
  // 1e12 / 1.2e9 = 833.33 ps: cycle 1 starts at ceil(833.33) = 834, cycle 2 at ceil(1666.67) = 1667, cycle 3 at 2500.
  EXPECT_EQ(clk.ps_of(1), 834u);
  EXPECT_EQ(clk.ps_of(2), 1667u);
  EXPECT_EQ(clk.ps_of(3), 2500u);
  int n833 = 0, n834 = 0;
  for (uint64_t n = 1; n <= 3000; ++n) {
    ASSERT_EQ(clk.ps_of(n), hand_ps(n, 1200)) << "cycle " << n;
    const uint64_t period = clk.ps_of(n) - clk.ps_of(n - 1);
    ASSERT_TRUE(period == 833 || period == 834) << "period before cycle " << n << " is " << period;
    (period == 833 ? n833 : n834)++;
  }
  // Every three cycles last exactly 2500 ps: one 834 and two 833.
  EXPECT_EQ(n834, 1000);
  EXPECT_EQ(n833, 2000);
}

TEST(ClockDomain, NoDriftAfterBillionsOfCycles) {
  const ClockDomain clk("cpu", 1200000000ULL);
  // 1e9 cycles * 833.333... ps = 833333333333.33 ps -> ceil = 833333333334.
  EXPECT_EQ(clk.ps_of(1000000000ULL), 833333333334ULL);
  EXPECT_EQ(clk.ps_of(3000000000ULL), 2500000000000ULL);  // exactly 2.5 s
  for (uint64_t n : {999999999ULL, 1000000000ULL, 1000000001ULL, 1000000002ULL, 123456789012ULL, 1000000000000ULL})
    EXPECT_EQ(clk.ps_of(n), hand_ps(n, 1200)) << "cycle " << n;
  // The period right after a billion cycles is still 833 or 834 ps.
  const uint64_t p = clk.ps_of(1000000001ULL) - clk.ps_of(1000000000ULL);
  EXPECT_TRUE(p == 833 || p == 834) << p;
}

TEST(ClockDomain, IntegerPeriodDomainsAreExact) {
  const ClockDomain clk100("io", 100000000ULL);  // 10 ns
  for (uint64_t n : {0ULL, 1ULL, 7ULL, 1000000ULL, 123456789ULL}) EXPECT_EQ(clk100.ps_of(n), n * 10000);
  const ClockDomain thz("fast", 1000000000000ULL);  // 1 ps period: the fastest allowed
  for (uint64_t n : {0ULL, 1ULL, 999ULL, 1ULL << 40}) {
    EXPECT_EQ(thz.ps_of(n), n);
    EXPECT_EQ(thz.cycle_at_or_after(n), n);
  }
}

TEST(ClockDomain, RationalFrequency) {
  // Gen3 lane bytes/s = 8e9 * 128/130 / 8 = 1.024e12/1040 Hz; period = 1040/1.024 = 1015.625 ps = 65000/64.
  const ClockDomain lane("gen3", 8000000000ULL * 128, 130 * 8);
  EXPECT_EQ(lane.freq_hz(), 1024000000000ULL / 1040);  // rounded down
  for (uint64_t n = 0; n <= 2000; ++n) ASSERT_EQ(lane.ps_of(n), (n * 65000 + 63) / 64) << "cycle " << n;
  EXPECT_EQ(lane.ps_of(64), 65000u);
  EXPECT_NEAR(lane.period_ps(), 1015.625, 1e-9);
}

TEST(ClockDomain, CycleAtOrAfterIsTheFirstSuchCycle) {
  for (uint64_t mhz : {1200ULL, 333ULL, 1000ULL, 7ULL}) {
    const ClockDomain clk("c", mhz * 1000000ULL);
    for (uint64_t ps = 0; ps <= 20000; ++ps) expect_first_at_or_after(clk.cycle_at_or_after(ps), ps, mhz);
    // Far from zero as well.
    const uint64_t base = 833333333333ULL;
    for (uint64_t ps = base; ps <= base + 5000; ++ps) expect_first_at_or_after(clk.cycle_at_or_after(ps), ps, mhz);
  }
}

TEST(ClockDomain, CycleAtOrAfterOnBoundaryReturnsThatCycle) {
  const ClockDomain clk("cpu", 1200000000ULL);
  for (uint64_t n : {0ULL, 1ULL, 2ULL, 3ULL, 1000ULL, 1000000000ULL}) {
    EXPECT_EQ(clk.cycle_at_or_after(hand_ps(n, 1200)), n);
    EXPECT_EQ(clk.cycle_at_or_after(hand_ps(n, 1200) + 1), n + 1);
  }
}

TEST(ClockDomain, AlignUpLandsOnFirstBoundaryAtOrAfter) {
  const ClockDomain clk("cpu", 1200000000ULL);
  // Boundaries of the 1200 MHz domain up to ~20 ns, computed by hand.
  std::vector<uint64_t> bounds;
  for (uint64_t n = 0; n <= 30; ++n) bounds.push_back(hand_ps(n, 1200));
  for (uint64_t ps = 0; ps <= bounds.back(); ++ps) {
    const uint64_t got = ClockDomain::to_ps(clk.align_up(sc_time::from_value(ps)));
    ASSERT_GE(got, ps);
    // It is a boundary, and no earlier boundary is also >= ps.
    bool is_boundary = false;
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (bounds[i] == got) {
        is_boundary = true;
        if (i > 0) {
          ASSERT_LT(bounds[i - 1], ps) << "align_up(" << ps << ") skipped a boundary";
        }
      }
    }
    ASSERT_TRUE(is_boundary) << "align_up(" << ps << ") = " << got << " is not a cycle boundary";
  }
  // Aligned times are fixed points.
  EXPECT_EQ(clk.align_up(sc_time::from_value(2500)), sc_time::from_value(2500));
  EXPECT_EQ(clk.align_up(sc_core::SC_ZERO_TIME), sc_core::SC_ZERO_TIME);
}

TEST(ClockDomain, TimeOfAndConversions) {
  const ClockDomain clk("cpu", 1200000000ULL);
  EXPECT_EQ(clk.time_of(2), sc_time(1667, sc_core::SC_PS));
  EXPECT_EQ(clk.time_of(3000000000ULL), sc_time(2.5, sc_core::SC_SEC));
  EXPECT_EQ(clk.cycle_at_or_after(sc_time(2, sc_core::SC_NS)), 3u);  // 2000 ps: cycle 2 at 1667, cycle 3 at 2500
  EXPECT_EQ(ClockDomain::to_ps(sc_time(3, sc_core::SC_NS)), 3000u);
  EXPECT_EQ(ClockDomain::to_time(123456789ULL), sc_time(123456789, sc_core::SC_PS));
  EXPECT_EQ(ClockDomain::to_ps(ClockDomain::to_time(987654321012ULL)), 987654321012ULL);
}

TEST(ClockDomain, FrequencyAccessors) {
  const ClockDomain clk("cpu", 1200000000ULL);
  EXPECT_EQ(clk.name(), "cpu");
  EXPECT_EQ(clk.freq_hz(), 1200000000ULL);
  EXPECT_DOUBLE_EQ(clk.freq_mhz(), 1200.0);
  EXPECT_NEAR(clk.period_ps(), 1e12 / 1.2e9, 1e-9);
  const ClockDomain third("third", 10, 3);  // 3.33 Hz
  EXPECT_EQ(third.freq_hz(), 3u);
  EXPECT_NEAR(third.freq_mhz(), 10.0 / 3.0 / 1e6, 1e-15);
}

TEST(ClockDomain, RejectsInvalidFrequencies) {
  EXPECT_THROW(ClockDomain("zero", 0), std::invalid_argument);
  EXPECT_THROW(ClockDomain("zero-den", 1000, 0), std::invalid_argument);
  EXPECT_THROW(ClockDomain("too-fast", 1000000000001ULL), std::invalid_argument);
  EXPECT_THROW(ClockDomain("too-fast-rational", 4000000000000ULL, 2), std::invalid_argument);
  EXPECT_NO_THROW(ClockDomain("ok", 1000000000000ULL));
}

TEST(CycleResource, SerialisesOverlappingBookings) {
  CycleResource r;
  EXPECT_EQ(r.reserve(10, 4), 10u);  // idle: starts when asked, busy 10..14
  EXPECT_EQ(r.free_at(), 14u);
  EXPECT_EQ(r.reserve(12, 3), 14u);  // waits 2 cycles for the first booking
  EXPECT_EQ(r.free_at(), 17u);
  EXPECT_EQ(r.reserve(17, 1), 17u);  // exactly when free: no wait
  EXPECT_EQ(r.reserve(30, 5), 30u);  // after an idle gap
  EXPECT_EQ(r.free_at(), 35u);
  EXPECT_EQ(r.busy_cycles(), 4u + 3u + 1u + 5u);
  EXPECT_EQ(r.waited_cycles(), 2u);
}

TEST(CycleResource, BackToBackBurstAccumulatesWaits) {
  CycleResource r;
  // Five users all arriving at cycle 0 for 8 cycles each start at 0, 8, 16, 24, 32.
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(r.reserve(0, 8), i * 8);
  EXPECT_EQ(r.waited_cycles(), 0u + 8u + 16u + 24u + 32u);
  EXPECT_EQ(r.busy_cycles(), 40u);
  EXPECT_EQ(r.free_at(), 40u);
  // A zero-length booking on an idle resource starts at once and adds no busy time.
  EXPECT_EQ(r.reserve(50, 0), 50u);
  EXPECT_EQ(r.busy_cycles(), 40u);
  EXPECT_EQ(r.waited_cycles(), 80u);
}

// The fast paths (whole-picosecond periods; a double estimate corrected by multiplication for
// rational ones) agree with the defining 128-bit formulas everywhere, including far out where
// the estimate gives way to division.
TEST(ClockDomain, FastPathsMatchTheExactFormulas) {
  using u128 = uint128_t;
  struct F {
    uint64_t num, den;
  };
  const F freqs[] = {{1000000000, 1}, {250000000, 1}, {1200000000, 1}, {8000000000ULL * 128, 130 * 8},
                     {16000000000ULL * 128, 130 * 8}, {2500000000ULL * 8, 10 * 8}, {3, 7}};
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (const F& f : freqs) {
    const ClockDomain clk("c", f.num, f.den);
    const u128 k = static_cast<u128>(1000000000000ULL) * f.den;
    for (int i = 0; i < 20000; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const uint64_t n = i < 10000 ? x % (1ULL << 40) : x % (1ULL << 52);
      const uint64_t ps_ref = static_cast<uint64_t>((static_cast<u128>(n) * k + f.num - 1) / f.num);
      if (static_cast<u128>(n) * k / f.num > UINT64_MAX) continue;
      ASSERT_EQ(clk.ps_of(n), ps_ref) << f.num << "/" << f.den << " cycle " << n;
      const uint64_t ps = x % (1ULL << 62);
      const uint64_t c_ref = ps == 0 ? 0 : static_cast<uint64_t>(static_cast<u128>(ps - 1) * f.num / k) + 1;
      ASSERT_EQ(clk.cycle_at_or_after(ps), c_ref) << f.num << "/" << f.den << " ps " << ps;
    }
  }
}
