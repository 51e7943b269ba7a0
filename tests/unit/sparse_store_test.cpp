// SparseStore: zero reads without allocation, page-crossing writes, range checks, fill, and 1 TiB sparse use with RSS.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "models/memory/sparse_store.h"

using namespace vfiosim;

namespace {

constexpr uint64_t kPage = 4096;  // documented page size, independent of the constant under test
constexpr uint64_t kMiB = 1ULL << 20;
constexpr uint64_t kTiB = 1ULL << 40;

// Resident set size of this process in bytes (second field of /proc/self/statm, in pages).
uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace

TEST(SparseStore, PageSizeIs4KiB) { EXPECT_EQ(SparseStore::kPageSize, kPage); }

TEST(SparseStore, UntouchedReadsAreZeroWithoutAllocating) {
  SparseStore s(16 * kMiB);
  std::vector<uint8_t> buf(3 * kPage + 100, 0xEE);
  ASSERT_TRUE(s.read(kPage - 50, buf.data(), buf.size()));
  for (size_t i = 0; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0) << "byte " << i;
  EXPECT_EQ(s.pages_allocated(), 0u);
  EXPECT_EQ(s.bytes_allocated(), 0u);
}

TEST(SparseStore, WriteReadRoundTripAllocatesOnePage) {
  SparseStore s(16 * kMiB);
  const uint8_t data[4] = {1, 2, 3, 4};
  ASSERT_TRUE(s.write(5 * kPage + 10, data, 4));
  EXPECT_EQ(s.pages_allocated(), 1u);
  EXPECT_EQ(s.bytes_allocated(), kPage);
  uint8_t back[6] = {9, 9, 9, 9, 9, 9};
  ASSERT_TRUE(s.read(5 * kPage + 9, back, 6));  // one untouched byte either side reads as zero
  EXPECT_EQ(std::vector<uint8_t>(back, back + 6), (std::vector<uint8_t>{0, 1, 2, 3, 4, 0}));
  // Rewriting the same page does not allocate again.
  ASSERT_TRUE(s.write(5 * kPage, data, 1));
  EXPECT_EQ(s.pages_allocated(), 1u);
}

TEST(SparseStore, WriteAcrossPageBoundary) {
  SparseStore s(16 * kMiB);
  std::vector<uint8_t> data(16);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xA0 + i);
  ASSERT_TRUE(s.write(3 * kPage - 8, data.data(), data.size()));  // 8 bytes in page 2, 8 in page 3
  EXPECT_EQ(s.pages_allocated(), 2u);
  std::vector<uint8_t> back(16);
  ASSERT_TRUE(s.read(3 * kPage - 8, back.data(), back.size()));
  EXPECT_EQ(back, data);
  // Each half reads back from its own page.
  uint8_t tail[8];
  ASSERT_TRUE(s.read(3 * kPage, tail, 8));
  EXPECT_EQ(std::vector<uint8_t>(tail, tail + 8), std::vector<uint8_t>(data.begin() + 8, data.end()));
  // A write spanning three pages.
  std::vector<uint8_t> big(kPage + 2, 0x5A);
  ASSERT_TRUE(s.write(10 * kPage - 1, big.data(), big.size()));  // pages 9, 10, 11
  EXPECT_EQ(s.pages_allocated(), 5u);
}

TEST(SparseStore, InterleavedPagesKeepTheirOwnData) {
  // Alternate between pages so any lookup cache is exercised, including reads of untouched pages.
  SparseStore s(kTiB);
  for (uint8_t round = 1; round <= 3; ++round) {
    for (uint64_t p : {7ULL, 123456789ULL, 7ULL, 42ULL}) {
      const uint8_t v = static_cast<uint8_t>(p * round);
      ASSERT_TRUE(s.write(p * kPage + round, &v, 1));
      uint8_t z = 0xFF;
      ASSERT_TRUE(s.read((p + 1) * kPage, &z, 1));  // neighbour page: untouched
      ASSERT_EQ(z, 0);
    }
  }
  for (uint64_t p : {7ULL, 123456789ULL, 42ULL}) {
    for (uint8_t round = 1; round <= 3; ++round) {
      uint8_t v = 0;
      ASSERT_TRUE(s.read(p * kPage + round, &v, 1));
      EXPECT_EQ(v, static_cast<uint8_t>(p * round)) << "page " << p << " round " << int(round);
    }
  }
  EXPECT_EQ(s.pages_allocated(), 3u);
}

TEST(SparseStore, OutOfRangeAccessFailsAndAllocatesNothing) {
  const uint64_t size = 1 * kMiB;
  SparseStore s(size);
  uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_FALSE(s.write(size - 4, data, 8));  // straddles the end: nothing written at all
  EXPECT_FALSE(s.write(size, data, 1));
  EXPECT_FALSE(s.write(std::numeric_limits<uint64_t>::max(), data, 2));  // addr + len wraps
  EXPECT_FALSE(s.write(0, data, size + 1));
  EXPECT_FALSE(s.fill(size - 1, 0xFF, 2));
  EXPECT_EQ(s.pages_allocated(), 0u);
  uint8_t back[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  EXPECT_FALSE(s.read(size - 4, back, 8));
  EXPECT_EQ(back[0], 9);  // nothing copied
  EXPECT_EQ(back[7], 9);
  // The last byte and the full range are inside.
  EXPECT_TRUE(s.write(size - 1, data, 1));
  EXPECT_TRUE(s.read(0, std::vector<uint8_t>(size).data(), size));
  EXPECT_TRUE(s.contains(size, 0));
  EXPECT_FALSE(s.contains(size + 1, 0));
  EXPECT_EQ(s.pages_allocated(), 1u);
}

TEST(SparseStore, FillWithZeroDoesNotAllocate) {
  SparseStore s(kTiB);
  ASSERT_TRUE(s.fill(0, 0, 64 * kMiB));
  EXPECT_EQ(s.pages_allocated(), 0u);
  // Non-zero fill allocates exactly the pages it touches: [100, 100 + 3 pages) covers pages 0..3.
  ASSERT_TRUE(s.fill(100, 0xAB, 3 * kPage));
  EXPECT_EQ(s.pages_allocated(), 4u);
  uint8_t b[3] = {0, 0, 0};
  ASSERT_TRUE(s.read(99, b, 3));
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 0xAB);
  EXPECT_EQ(b[2], 0xAB);
  ASSERT_TRUE(s.read(100 + 3 * kPage - 1, b, 2));
  EXPECT_EQ(b[0], 0xAB);
  EXPECT_EQ(b[1], 0);
  // Zero fill over allocated memory clears it (without allocating neighbours).
  ASSERT_TRUE(s.fill(0, 0, 8 * kPage));
  EXPECT_EQ(s.pages_allocated(), 4u);
  ASSERT_TRUE(s.read(100 + kPage, b, 1));
  EXPECT_EQ(b[0], 0);
}

TEST(SparseStore, OneTebibyteSpaceCostsOnlyTouchedPages) {
  SparseStore s(kTiB);
  EXPECT_EQ(s.size(), kTiB);
  // 64 MiB worth of pages (16384), one byte each, scattered over the whole 1 TiB space with a
  // stride of 1 TiB / 16384 = 64 MiB and a varying in-page offset; plus repeat writes to touched pages.
  constexpr uint64_t kWrites = 64 * kMiB / kPage;
  const uint64_t stride = kTiB / kWrites;
  std::set<uint64_t> pages;
  std::vector<uint64_t> addrs;
  for (uint64_t i = 0; i < kWrites; ++i) addrs.push_back(i * stride + (i * 7919) % kPage);
  for (uint64_t i = 0; i < kWrites; i += 97) addrs.push_back(addrs[i] ^ 1);  // same page again
  addrs.push_back(kTiB - 1);                                            // the very last byte
  for (const uint64_t a : addrs) {
    const uint8_t v = static_cast<uint8_t>((a >> 12) | 1);
    ASSERT_TRUE(s.write(a, &v, 1)) << a;
    pages.insert(a / kPage);
  }
  EXPECT_EQ(s.pages_allocated(), pages.size());
  EXPECT_EQ(s.bytes_allocated(), pages.size() * kPage);
  // By hand: 16384 distinct scattered pages (offsets < 4 KiB never leave the page), the repeats add
  // none, and the last byte's page (2^28 - 1) is beyond the last scattered one (16383 * 16384).
  EXPECT_EQ(pages.size(), kWrites + 1);
  for (uint64_t i = 0; i < kWrites; i += 13) {
    uint8_t v = 0;
    ASSERT_TRUE(s.read(addrs[i], &v, 1));
    ASSERT_EQ(v, static_cast<uint8_t>((addrs[i] >> 12) | 1));
  }
  EXPECT_FALSE(s.write(kTiB, addrs.data(), 1));
}

TEST(SparseStore, HostMemoryGrowsWithTouchedPagesOnly) {
  if (kSanitized) GTEST_SKIP() << "RSS accounting is not meaningful under AddressSanitizer";
#if defined(__GLIBC__)
  malloc_trim(0);  // return heap freed by earlier tests in this process, so it is not reused unseen
#endif
  const uint64_t before = rss_bytes();
  ASSERT_GT(before, 0u) << "cannot read /proc/self/statm";
  SparseStore s(kTiB);
  // Touch 256 MiB of pages (65536), one byte per page, spread 1 MiB apart over 64 GiB.
  constexpr uint64_t kPages = 256 * kMiB / kPage;
  for (uint64_t i = 0; i < kPages; ++i) {
    const uint8_t v = 1;
    ASSERT_TRUE(s.write(i * kMiB + (i % kPage), &v, 1));
  }
  ASSERT_EQ(s.pages_allocated(), kPages);
  const uint64_t grown = rss_bytes() - before;
  RecordProperty("rss_growth_kib", std::to_string(grown / 1024));
  EXPECT_GE(grown, 200 * kMiB) << "pages are not really backed";
  EXPECT_LE(grown, 320 * kMiB) << "more than ~25% overhead per 4 KiB page";
  // Reading a large untouched region afterwards does not grow the store.
  std::vector<uint8_t> buf(kMiB);
  ASSERT_TRUE(s.read(512 * 1024 * kMiB, buf.data(), buf.size()));
  EXPECT_EQ(s.pages_allocated(), kPages);
}
