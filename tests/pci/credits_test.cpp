// Flow-control credit pools: a sender stalls until the receiver returns enough credits.
#include <gtest/gtest.h>

#include "models/pci/credits.h"

using namespace vfiosim::pci;

TEST(Credits, InfiniteCreditsNeverStall) {
  CreditPool pool(0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(pool.acquire(10, 64), 10u);
    pool.release_at(1000000, 64);
  }
  EXPECT_EQ(pool.stalls(), 0u);
}

TEST(Credits, SenderWaitsForTheEarliestReturnsThatMakeRoom) {
  CreditPool pool(8);
  EXPECT_EQ(pool.acquire(0, 4), 0u);
  pool.release_at(100, 4);
  EXPECT_EQ(pool.acquire(0, 4), 0u);
  pool.release_at(200, 4);
  // Full: 4 more need the first return at 100.
  EXPECT_EQ(pool.acquire(10, 4), 100u);
  pool.release_at(300, 4);
  // 6 more need both outstanding returns (200 and 300).
  EXPECT_EQ(pool.acquire(150, 6), 300u);
  pool.release_at(400, 6);
  EXPECT_EQ(pool.stalls(), 2u);
  EXPECT_EQ(pool.stall_ps(), (100u - 10u) + (300u - 150u));
}

TEST(Credits, ReturnedCreditsAreFreeAgainLater) {
  CreditPool pool(2);
  EXPECT_EQ(pool.acquire(0, 2), 0u);
  pool.release_at(50, 2);
  EXPECT_EQ(pool.acquire(60, 2), 60u);
  pool.release_at(70, 2);
  EXPECT_EQ(pool.stalls(), 0u);
}

// Credits on a link: a sender stalls when the receiver's buffer is full, and credits come back one
// credit loop (transfer, latency, drain, UpdateFC latency) after the TLP (A4.5).
#include "models/pci/pcie_link.h"

TEST(LinkCredits, C4_7_MWrOf20BytesTakesTwoDataCredits) {
  vfiosim::stats::Group root("system");
  LinkParams p;
  p.credits[static_cast<int>(CreditType::PostedData)] = 2;  // room for one 20-byte MWr
  p.latency_ps = 100000;
  PcieLink link("l", p, root, nullptr);
  const uint64_t first = link.send_up(0, TlpType::MemWrite, 0x1000, 20);
  const uint64_t second = link.send_up(0, TlpType::MemWrite, 0x2000, 20);
  // The second waits until the first's two data credits return: its arrival plus drain (0)
  // plus the UpdateFC's trip back.
  EXPECT_GE(second, first + p.latency_ps);
  EXPECT_EQ(dynamic_cast<const vfiosim::stats::Counter*>(root.lookup("l.up_credit_stalls"))->value(), 1u);
}

TEST(LinkCredits, EnoughCreditsMeanNoStall) {
  vfiosim::stats::Group root("system");
  LinkParams p;
  p.credits[static_cast<int>(CreditType::PostedData)] = 4;
  p.latency_ps = 100000;
  PcieLink link("l", p, root, nullptr);
  link.send_up(0, TlpType::MemWrite, 0x1000, 20);
  link.send_up(0, TlpType::MemWrite, 0x2000, 20);
  EXPECT_EQ(dynamic_cast<const vfiosim::stats::Counter*>(root.lookup("l.up_credit_stalls"))->value(), 0u);
}

TEST(LinkCredits, OneNonPostedHeaderCreditPacesReadsByTheCreditLoop) {
  vfiosim::stats::Group root("system");
  LinkParams p;
  p.credits[static_cast<int>(CreditType::NonPostedHeader)] = 1;
  p.latency_ps = 200000;
  p.drain_ps = 50000;
  PcieLink link("l", p, root, nullptr);
  uint64_t prev = link.send_up(0, TlpType::MemRead, 0x100000000ULL, 0);
  for (int i = 0; i < 5; ++i) {
    const uint64_t next = link.send_up(0, TlpType::MemRead, 0x100000000ULL, 0);
    // Each MRd leaves only when the previous one's credit is back (its arrival + drain + the
    // UpdateFC's flight), then needs its own transfer and flight: one full credit loop apart.
    EXPECT_GE(next - prev, p.drain_ps + 2 * p.latency_ps) << i;
    EXPECT_LE(next - prev, p.drain_ps + 2 * p.latency_ps + 4000) << i;  // plus one MRd transfer (~3.2 ns)
    prev = next;
  }
}
