// Link rates, DLL overhead and serialisation. Spec cases C4.1, C4.2; bandwidth of TLP streams
// against the pcie-bench model (perf-anchors.md §1.1), whose formulas this test recomputes on its
// own and whose published table it checks first.
#include <cmath>

#include <gtest/gtest.h>

#include "models/pci/link_timing.h"
#include "models/pci/tlp.h"

using namespace vfiosim::pci;

namespace {

// pcie-bench: TLP_bw = raw x (1 - 8/Ack - 8/FC - 4/1538); write eff = sz x TLP_bw / (ceil(sz/MPS) x 24 + sz);
// read eff = min over directions of sz x TLP_bw / bytes (requests 24 B per MRRS, CplD 20 B per MPS).
double model_tlp_gbps(double raw, unsigned gen, unsigned width, uint32_t mps) {
  return raw * (1 - 8.0 / LinkTiming::ack_limit(gen, width, mps) - 8.0 / LinkTiming::fc_interval(gen, width, mps) -
                4.0 / 1538);
}
double model_write(double tlp, uint32_t sz, uint32_t mps) {
  return sz * tlp / (std::ceil(double(sz) / mps) * 24 + sz);
}
double model_read(double tlp, uint32_t sz, uint32_t mps, uint32_t mrrs) {
  const double tx = std::ceil(double(sz) / mrrs) * 24, rx = std::ceil(double(sz) / mps) * 20 + sz;
  return sz * tlp / std::max(tx, rx);
}

// Streams `n` TLPs of `wire` bytes back to back; returns payload Gb/s.
double stream_gbps(const LinkTiming& t, uint32_t wire, uint32_t payload, int n) {
  Serialiser s(t);
  uint64_t end = 0;
  for (int i = 0; i < n; ++i) end = s.send(0, wire);
  return double(payload) * n * 8 / double(end) * 1000;
}

}  // namespace

TEST(LinkTiming, RawAndTlpBandwidthMatchThePublishedModel) {
  EXPECT_NEAR(LinkTiming(3, 8, 256).raw_gbps(), 63.02, 0.01);
  EXPECT_NEAR(LinkTiming(3, 8, 256).tlp_gbps(), 57.88, 0.01);
  EXPECT_NEAR(LinkTiming(3, 8, 128).tlp_gbps(), 56.67, 0.01);
  EXPECT_NEAR(LinkTiming(3, 16, 256).tlp_gbps(), 113.70, 0.01);
  EXPECT_NEAR(LinkTiming(4, 16, 256).tlp_gbps(), 227.40, 0.01);
  EXPECT_NEAR(LinkTiming(5, 16, 256).tlp_gbps(), 454.80, 0.01);
  EXPECT_NEAR(LinkTiming(1, 1, 128).raw_gbps(), 2.0, 1e-9);
  EXPECT_NEAR(LinkTiming(2, 4, 128).raw_gbps(), 16.0, 1e-9);
}

TEST(LinkTiming, C4_1_Gen3x4SerialisesA276ByteTlpIn70ns) {
  LinkTiming t(3, 4, 256);
  Serialiser s(t);
  const uint64_t end = s.send(0, wire_bytes(TlpType::MemWrite, 0xFE000000, 256));
  EXPECT_NEAR(end / 1000.0, 69 * 1.015625, 0.002);  // 69 byte times per lane
  EXPECT_EQ(end, t.symbol_clock().ps_of(69));        // on a symbol boundary
}

TEST(LinkTiming, C4_2_Gen1x1MRdTakes80nsAndCplD64Takes336ns) {
  LinkTiming t(1, 1, 128);
  Serialiser up(t), down(t);
  EXPECT_EQ(up.send(0, wire_bytes(TlpType::MemRead, 0x1000, 0)), 80000u);
  EXPECT_EQ(down.send(0, wire_bytes(TlpType::CompletionData, 0x1000, 64)), 336000u);
}

TEST(LinkTiming, TlpsQueueBehindEachOtherAndIdleLinksStartAtReadyTime) {
  LinkTiming t(1, 1, 128);
  Serialiser s(t);
  const uint64_t first = s.send(0, 20);
  const uint64_t second = s.send(0, 20);  // queued: starts after the first's occupancy
  EXPECT_GT(second, first + 80000 - 1);
  const uint64_t later = s.send(10000000, 20);  // link idle again: 80 ns after ready
  EXPECT_EQ(later, 10000000u + 80000u);
}

TEST(LinkTiming, PublishedModelTableIsWhatTheFormulasGive) {
  const double tlp = model_tlp_gbps(LinkTiming(3, 8, 256).raw_gbps(), 3, 8, 256);
  const struct { uint32_t sz; double wr, rd; } table[] = {
      {64, 42.10, 44.10}, {128, 48.75, 50.06}, {256, 52.92, 53.69}, {257, 48.78, 50.09}, {2048, 52.92, 53.69}};
  for (const auto& row : table) {
    EXPECT_NEAR(model_write(tlp, row.sz, 256), row.wr, 0.01) << row.sz;
    EXPECT_NEAR(model_read(tlp, row.sz, 256, 512), row.rd, 0.01) << row.sz;
  }
}

TEST(LinkTiming, WriteStreamsMatchTheModelWithinOnePercent) {
  for (uint32_t mps : {128u, 256u}) {
    const LinkTiming t(3, 8, mps);
    for (uint32_t sz : {64u, 128u, 192u, 256u, 257u, 512u, 1024u, 1500u, 2048u}) {
      // One transfer = its MWr TLPs; stream 2000 transfers.
      Serialiser s(t);
      uint64_t end = 0;
      const int n = 2000;
      for (int i = 0; i < n; ++i)
        for (const auto& c : split_request(0x100000000ULL + uint64_t(i) * 4096, sz, mps))
          end = s.send(0, wire_bytes(TlpType::MemWrite, c.address, c.length));
      const double got = double(sz) * n * 8 / double(end) * 1000;
      const double want = model_write(model_tlp_gbps(t.raw_gbps(), 3, 8, mps), sz, mps);
      EXPECT_NEAR(got / want, 1.0, 0.01) << "MPS " << mps << " size " << sz << ": " << got << " vs " << want;
    }
  }
}

TEST(LinkTiming, SustainedRateIsTheTlpLayerBandwidth) {
  const LinkTiming t(4, 16, 256);
  const double gbps = stream_gbps(t, 4096 + 24, 4096 + 24, 5000);  // count wire bytes as payload
  EXPECT_NEAR(gbps / t.tlp_gbps(), 1.0, 1e-4);
}
