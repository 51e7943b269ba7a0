// Capability chains: the chains the kernel builds decode to their JSON form and back, and chains
// a hostile or buggy kernel could write (a loop, a link past the end or into the header, a count
// larger than the buffer, a short argsz) stop where they go wrong without reading past the buffer.
#include <linux/vfio.h>

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "vfio/uapi/caps.h"
#include "vfio/uapi/uapi.h"

namespace vfiosim::uapi {
namespace {

using nlohmann::json;

const IoctlInfo& get_info() { return *find_ioctl("VFIO_IOMMU_GET_INFO"); }

// A type1 info struct followed by the caps the test appends (offsets from the struct's start).
struct Chain {
  std::vector<uint8_t> b = std::vector<uint8_t>(sizeof(vfio_iommu_type1_info), 0);
  template <class T>
  uint32_t add(const T& cap) {
    const auto at = static_cast<uint32_t>(b.size());
    b.resize(at + sizeof cap);
    std::memcpy(b.data() + at, &cap, sizeof cap);
    return at;
  }
  void link(uint32_t from, uint32_t to) { std::memcpy(b.data() + from + offsetof(vfio_info_cap_header, next), &to, 4); }
  void first(uint32_t at) {
    vfio_iommu_type1_info i{};
    i.argsz = static_cast<uint32_t>(b.size());
    i.flags = VFIO_IOMMU_INFO_CAPS;
    i.cap_offset = at;
    std::memcpy(b.data(), &i, sizeof i);
  }
};

vfio_iommu_type1_info_dma_avail avail(uint32_t n) {
  vfio_iommu_type1_info_dma_avail a{};
  a.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
  a.header.version = 1;
  a.avail = n;
  return a;
}

TEST(UapiCaps, Type1ChainAsTheKernelBuildsIt) {
  Chain c;
  vfio_iommu_type1_info_cap_migration m{};
  m.header = {VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, 0};
  m.flags = 0;
  m.pgsize_bitmap = 0x1000;
  m.max_dirty_bitmap_size = 256 << 20;
  const uint32_t mig = c.add(m);
  const uint32_t av = c.add(avail(65535));
  vfio_iommu_type1_info_cap_iova_range r{};
  r.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
  r.nr_iovas = 2;
  const uint32_t rg = c.add(r);
  c.add(vfio_iova_range{0, 0xfedfffff});
  c.add(vfio_iova_range{0xfef00000, 0xffffffffffff});
  c.link(mig, av);
  c.link(av, rg);
  c.first(mig);
  const json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"], json::parse(R"({"dma_avail": 65535,
      "iova_ranges": [{"start": 0, "end": 4276092927}, {"start": 4277141504, "end": 281474976710655}],
      "migration": {"flags": 0, "pgsize_bitmap": 4096, "max_dirty_bitmap_size": 268435456}})"));
  EXPECT_FALSE(d.contains("malformed"));
  // And back: encode lays the same caps out again (in its own order) and decode agrees.
  auto again = encode(get_info(), {{"flags", "VFIO_IOMMU_INFO_CAPS"}, {"caps", d["caps"]}}, nullptr);
  ASSERT_TRUE(again.ok()) << again.error().text();
  const json d2 = decode(get_info(), again->bytes);
  EXPECT_EQ(d2["caps"], d["caps"]);
  EXPECT_EQ(d2["cap_offset"], sizeof(vfio_iommu_type1_info));  // defaults to the first cap
  EXPECT_EQ(d2["argsz"], again->bytes.size());
}

TEST(UapiCaps, RegionInfoChainRoundTrips) {
  const json caps = {{"sparse_mmap", {{{"offset", 0}, {"size", 0x2000}}, {{"offset", 0x3000}, {"size", 0x1000}}}},
                     {"type", {{"type", 1}, {"subtype", 2}}},
                     {"msix_mappable", true},
                     {"unknown", {{{"id", 9}, {"version", 3}}}}};
  auto e = encode("VFIO_DEVICE_GET_REGION_INFO", {{"index", 0}, {"flags", "VFIO_REGION_INFO_FLAG_CAPS"}, {"caps", caps}}, nullptr);
  ASSERT_TRUE(e.ok()) << e.error().text();
  const auto& b = e->bytes;
  // The first capability sits right after the struct; each is 8-aligned and has the real layout.
  vfio_region_info ri;
  std::memcpy(&ri, b.data(), sizeof ri);
  ASSERT_EQ(ri.cap_offset, sizeof ri);
  std::vector<uint16_t> ids;
  for (uint32_t off = ri.cap_offset; off && ids.size() < 8;) {
    EXPECT_EQ(off % 8, 0u);
    vfio_info_cap_header h;
    std::memcpy(&h, b.data() + off, sizeof h);
    ids.push_back(h.id);
    if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
      vfio_region_info_cap_sparse_mmap sm;
      std::memcpy(&sm, b.data() + off, sizeof sm);
      EXPECT_EQ(sm.nr_areas, 2u);
      vfio_region_sparse_mmap_area a;
      std::memcpy(&a, b.data() + off + sizeof sm + sizeof a, sizeof a);
      EXPECT_EQ(a.offset, 0x3000u);
    }
    off = h.next;
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_NE(std::find(ids.begin(), ids.end(), VFIO_REGION_INFO_CAP_SPARSE_MMAP), ids.end());
  EXPECT_EQ(decode(*find_ioctl("VFIO_DEVICE_GET_REGION_INFO"), b)["caps"], caps);
}

TEST(UapiCaps, ACycleStops) {
  Chain c;
  const uint32_t a = c.add(avail(1));
  const uint32_t b = c.add(avail(2));
  c.link(a, b);
  c.link(b, a);
  c.first(a);
  const json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"]["dma_avail"], 2);
  ASSERT_TRUE(d.contains("malformed"));
  EXPECT_EQ(d["malformed"][0], "caps: the chain loops back to offset " + std::to_string(a));
}

TEST(UapiCaps, ASelfLinkStops) {
  Chain c;
  const uint32_t a = c.add(avail(1));
  c.link(a, a);
  c.first(a);
  const json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"]["dma_avail"], 1);
  EXPECT_EQ(d["malformed"].size(), 1u);
}

TEST(UapiCaps, LinksPastTheEndOrIntoTheHeaderStop) {
  Chain c;
  const uint32_t a = c.add(avail(1));
  c.link(a, 0xfffffff8);
  c.first(a);
  json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"]["dma_avail"], 1);
  EXPECT_EQ(d["malformed"][0], "caps: capability at 4294967288 is past the end of the " + std::to_string(c.b.size()) + " bytes");
  c.link(a, 4);
  d = decode(get_info(), c.b);
  EXPECT_EQ(d["malformed"][0], "caps: capability at 4 lies inside the struct's first 24 bytes");
  // A capability whose header fits but whose body does not is reported, not read.
  c.link(a, 0);
  c.b.resize(c.b.size() - 1);
  d = decode(get_info(), c.b);
  EXPECT_FALSE(d["caps"].contains("dma_avail"));
  EXPECT_EQ(d["malformed"][0], "caps: dma_avail capability at 24 runs past the end of the 35 bytes");
}

TEST(UapiCaps, AHostileArrayCountStopsAtTheBuffer) {
  Chain c;
  vfio_iommu_type1_info_cap_iova_range r{};
  r.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
  r.nr_iovas = 0xffffffff;
  const uint32_t at = c.add(r);
  c.add(vfio_iova_range{1, 2});
  c.first(at);
  c.b.resize(c.b.size() + 8);  // half of another range: not read
  const json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"]["iova_ranges"], json::parse(R"([{"start": 1, "end": 2}])"));
}

TEST(UapiCaps, ALongChainIsBounded) {
  Chain c;
  uint32_t prev = 0;
  for (int i = 0; i < kMaxCaps + 10; ++i) {
    const uint32_t at = c.add(avail(static_cast<uint32_t>(i)));
    if (prev) c.link(prev, at);
    else c.first(at);
    prev = at;
  }
  c.first(sizeof(vfio_iommu_type1_info));
  const json d = decode(get_info(), c.b);
  EXPECT_EQ(d["caps"]["dma_avail"], kMaxCaps - 1);
  EXPECT_EQ(d["malformed"][0], "caps: more than 64 capabilities");
}

TEST(UapiCaps, AShortArgszHasNoCapOffset) {
  // C-92: userspace passes the 16-byte v1 struct; there is no cap_offset to follow.
  std::vector<uint8_t> b(16, 0);
  const uint32_t argsz = 16;
  std::memcpy(b.data(), &argsz, 4);
  const json d = decode(get_info(), b);
  EXPECT_EQ(d["argsz"], 16);
  EXPECT_TRUE(d.contains("iova_pgsizes"));
  EXPECT_FALSE(d.contains("cap_offset"));
  EXPECT_EQ(d["caps"], json::object());
}

TEST(UapiCaps, DecodeNeverReadsPastTheBuffer) {
  // Every struct, every length up to its size plus a chain's worth, bytes all 0xff (every count
  // and offset at its largest): fields that fit, nothing else. Each buffer is exactly n bytes, so a
  // sanitizer build catches a stray read.
  for (const auto& i : ioctl_table()) {
    for (size_t n = 0; n < 160; ++n) {
      std::vector<uint8_t> b(n, 0xff);
      const json d = decode(i, b.data(), b.size());
      if (i.arg == IoctlArg::Struct && n < 4) {
        EXPECT_FALSE(d.contains("argsz")) << i.name;
      }
    }
  }
}

}  // namespace
}  // namespace vfiosim::uapi
