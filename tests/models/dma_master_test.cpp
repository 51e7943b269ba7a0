// DMA master against memory: latency-bound and bandwidth-bound regimes match hand calculations,
// the issue rate limits when memory is fast, data is verified end to end, and error responses
// are counted while the workload carries on.
#include <gtest/gtest.h>

#include "models/memory/memory.h"
#include "models/traffic/dma_master.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;

namespace {

uint64_t ps_at(uint64_t cycle, uint64_t mhz) { return (cycle * 1000000 + mhz - 1) / mhz; }

struct Bench {
  stats::Group root{"system"};
  std::unique_ptr<Memory> mem;
  std::unique_ptr<DmaMaster> dma;
  Bench(uint64_t mem_mhz, uint64_t latency, uint64_t width, uint64_t dma_mhz, uint64_t issue_cycles) {
    MemoryParams mp;
    mp.size = 1ULL << 30;
    mp.clock_mhz = mem_mhz;
    mp.latency_cycles = latency;
    mp.bytes_per_cycle = width;
    mem = std::make_unique<Memory>("memory", mp, root);
    DmaMasterParams dp;
    dp.name = "dma0";
    dp.clock_mhz = dma_mhz;
    dp.issue_cycles = issue_cycles;
    dp.max_outstanding = 64;
    dma = std::make_unique<DmaMaster>("dma0", dp, root, 1, nullptr);
    dma->port.bind(mem->port);
  }
};

Workload work(DmaDirection d, uint64_t size, uint64_t count, uint64_t outstanding) {
  Workload w;
  w.direction = d;
  w.size = size;
  w.count = count;
  w.outstanding = outstanding;
  w.address = 0x100000;
  w.window = size * count;
  return w;
}

}  // namespace

TEST(DmaMaster, OneOutstandingIsLatencyBound) {
  // Same clock for both: every request starts on the cycle the previous one completed.
  Bench b(1000, 50, 16, 1000, 1);
  WorkloadResult r;
  sctest::run_in_thread([&] { r = b.dma->run(work(DmaDirection::Read, 64, 100, 1)); });
  EXPECT_EQ(r.requests, 100u);
  EXPECT_EQ(r.latency_ps.min(), ps_at(54, 1000));
  EXPECT_EQ(r.latency_ps.max(), ps_at(54, 1000));
  EXPECT_EQ(r.duration_ps(), ps_at(100 * 54, 1000));
}

TEST(DmaMaster, ManyOutstandingSaturatesTheDataBus) {
  Bench b(1200, 96, 16, 1200, 1);
  WorkloadResult r;
  sctest::run_in_thread([&] { r = b.dma->run(work(DmaDirection::Write, 256, 4096, 16)); });
  // 16 beats per request, bus never idle after the first arrival: 4096*16 beats + 96 latency.
  EXPECT_EQ(r.duration_ps(), ps_at(4096 * 16 + 96, 1200));
  const double expected_gbps = 4096.0 * 256 * 8 / static_cast<double>(ps_at(4096 * 16 + 96, 1200)) * 1000;
  EXPECT_NEAR(r.bandwidth_gbps(), expected_gbps, 1e-9);
  EXPECT_NEAR(r.bandwidth_gbps(), 16 * 1.2 * 8, 0.3);  // the 153.6 Gb/s bus ceiling
}

TEST(DmaMaster, IssueRateLimitsWhenMemoryIsFast) {
  // 4096-byte bus, 1-cycle latency: memory is never the bottleneck; the master issues every 10 ns.
  Bench b(1000, 1, 4096, 100, 1);
  WorkloadResult r;
  sctest::run_in_thread([&] { r = b.dma->run(work(DmaDirection::Read, 64, 1000, 8)); });
  // Last issue at 999 * 10 ns, plus 2 memory cycles of service.
  EXPECT_EQ(r.duration_ps(), 999 * 10000 + ps_at(2, 1000));
}

TEST(DmaMaster, WriteThenVerifiedReadFindsNoMismatch) {
  Bench b(1200, 96, 16, 1200, 1);
  WorkloadResult wr, rd, wrong;
  sctest::run_in_thread([&] {
    Workload w = work(DmaDirection::Write, 128, 512, 4);
    w.data_seed = 42;
    wr = b.dma->run(w);
    Workload r = work(DmaDirection::Read, 128, 512, 4);
    r.data_seed = 42;
    r.verify = true;
    r.pattern = AddressPattern::Random;
    rd = b.dma->run(r);
    r.data_seed = 43;  // expecting another pattern must find mismatches
    wrong = b.dma->run(r);
  });
  EXPECT_EQ(wr.bytes, 128u * 512);
  EXPECT_EQ(rd.mismatches, 0u);
  EXPECT_GT(wrong.mismatches, 128u * 512 / 2);
}

TEST(DmaMaster, ErrorsAreCountedAndTheWorkloadCompletes) {
  Bench b(1000, 10, 16, 1000, 1);
  WorkloadResult r;
  sctest::run_in_thread([&] {
    Workload w = work(DmaDirection::Read, 64, 8, 2);
    w.address = (1ULL << 30) - 4 * 64;  // the last 4 slots fit, the next 4 fall off the end
    r = b.dma->run(w);
  });
  EXPECT_EQ(r.requests, 8u);
  EXPECT_EQ(r.errors, 4u);
  EXPECT_EQ(r.bytes, 4u * 64);
}

TEST(DmaMaster, ConcurrentCallersAreServedInOrder) {
  Bench b(1000, 10, 16, 1000, 1);
  WorkloadResult first, second;
  sc_core::sc_spawn([&] { first = b.dma->run(work(DmaDirection::Read, 64, 10, 1)); });
  sctest::run_in_thread([&] { second = b.dma->run(work(DmaDirection::Read, 64, 10, 1)); });
  EXPECT_EQ(first.requests, 10u);
  EXPECT_EQ(second.requests, 10u);
  // One job runs after the other: the intervals do not overlap.
  EXPECT_TRUE(second.first_issue_ps >= first.last_done_ps || first.first_issue_ps >= second.last_done_ps)
      << first.first_issue_ps << ".." << first.last_done_ps << " vs " << second.first_issue_ps << ".."
      << second.last_done_ps;
}
