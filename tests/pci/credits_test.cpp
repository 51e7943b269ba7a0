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
