// TLP sizes, request and completion splitting, credit consumption. Spec cases C4.1, C4.2, C4.4,
// C4.5, C4.7 (pci-ccw.md Part C).
#include <gtest/gtest.h>

#include "models/pci/tlp.h"

using namespace vfiosim::pci;

TEST(Tlp, C4_1_MWr32WithPayloadIs276WireBytes) {
  EXPECT_EQ(wire_bytes(TlpType::MemWrite, 0xFE000000, 256), 8u + 12u + 256u);
}

TEST(Tlp, C4_2_MRd3DwIs20AndCplD64Is84WireBytes) {
  EXPECT_EQ(wire_bytes(TlpType::MemRead, 0x1000, 0), 20u);
  EXPECT_EQ(wire_bytes(TlpType::CompletionData, 0x1000, 64), 84u);
}

TEST(Tlp, AddressesAbove4GiBUseTheFourDwordHeader) {
  EXPECT_EQ(header_bytes(TlpType::MemRead, 0xFFFFFFFF), 12u);
  EXPECT_EQ(header_bytes(TlpType::MemRead, 0x100000000), 16u);
  // The pcie-bench per-TLP overheads: 24 B for 64-bit MWr/MRd, 20 B for CplD.
  EXPECT_EQ(wire_bytes(TlpType::MemWrite, 0x100000000, 64), 24u + 64u);
  EXPECT_EQ(wire_bytes(TlpType::MemRead, 0x100000000, 0), 24u);
  EXPECT_EQ(wire_bytes(TlpType::CompletionData, 0x100000000, 64), 20u + 64u);
  EXPECT_EQ(wire_bytes(TlpType::MemWrite, 0x100000000, 64, /*ecrc=*/true), 24u + 64u + 4u);
}

TEST(Tlp, C4_4_ReadOf4KiBAt0x800WithMrrs1024) {
  const auto chunks = split_request(0x0800, 4096, 1024);
  ASSERT_EQ(chunks.size(), 4u);
  const uint64_t want[] = {0x0800, 0x0C00, 0x1000, 0x1400};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(chunks[i].address, want[i]);
    EXPECT_EQ(chunks[i].length, 1024u);
  }
}

TEST(Tlp, RequestsNeverCrossA4KiBBoundary) {
  const auto chunks = split_request(0x0F80, 512, 512);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].length, 0x80u);
  EXPECT_EQ(chunks[1].address, 0x1000u);
  EXPECT_EQ(chunks[1].length, 512u - 0x80u);
  uint64_t total = 0;
  for (const auto& c : split_request(0x123, 100000, 256)) {
    EXPECT_LE(c.length, 256u);
    EXPECT_EQ(c.address / 4096, (c.address + c.length - 1) / 4096);
    total += c.length;
  }
  EXPECT_EQ(total, 100000u);
}

TEST(Tlp, C4_5_GreedyCompletionSplitAtRcb) {
  const auto cpl = split_completion(0x1030, 512, 256, 64);
  ASSERT_EQ(cpl.size(), 3u);
  EXPECT_EQ(cpl[0].length, 208u);
  EXPECT_EQ(cpl[0].byte_count, 512u);
  EXPECT_EQ(cpl[0].lower_address, 0x30);
  EXPECT_EQ(cpl[1].length, 256u);
  EXPECT_EQ(cpl[1].byte_count, 304u);
  EXPECT_EQ(cpl[1].lower_address, 0x00);
  EXPECT_EQ(cpl[2].length, 48u);
  EXPECT_EQ(cpl[2].byte_count, 48u);
  EXPECT_EQ(cpl[2].lower_address, 0x00);
}

TEST(Tlp, CompletionRulesHoldForManyShapes) {
  for (uint32_t mps : {128u, 256u, 512u})
    for (uint32_t rcb : {64u, 128u})
      for (uint64_t addr : {0x0ULL, 0x4ULL, 0x3cULL, 0x1030ULL, 0xff8ULL})
        for (uint32_t len : {4u, 64u, 100u, 257u, 1024u, 4096u}) {
          const auto cpl = split_completion(addr, len, mps, rcb);
          uint32_t total = 0;
          for (size_t i = 0; i < cpl.size(); ++i) {
            EXPECT_LE(cpl[i].length, mps);
            EXPECT_GT(cpl[i].length, 0u);
            if (i + 1 < cpl.size()) {
              EXPECT_EQ((cpl[i].address + cpl[i].length) % rcb, 0u);
            }
            EXPECT_EQ(cpl[i].byte_count, len - total);
            total += cpl[i].length;
          }
          EXPECT_EQ(total, len);
        }
}

TEST(Tlp, C4_7_MWrWith20BytesTakesOnePostedHeaderAndTwoDataCredits) {
  const CreditNeed c = credits_for(TlpType::MemWrite, 20);
  EXPECT_EQ(c.header, CreditType::PostedHeader);
  EXPECT_EQ(c.data, CreditType::PostedData);
  EXPECT_EQ(c.header_credits, 1u);
  EXPECT_EQ(c.data_credits, 2u);
  EXPECT_EQ(credits_for(TlpType::MemRead, 0).header, CreditType::NonPostedHeader);
  EXPECT_EQ(credits_for(TlpType::MemRead, 0).data_credits, 0u);
  EXPECT_EQ(credits_for(TlpType::CompletionData, 64).data, CreditType::CompletionData);
  EXPECT_EQ(credits_for(TlpType::CompletionData, 64).data_credits, 4u);
}
