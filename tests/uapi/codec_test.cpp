// The UAPI module's codec: every ioctl struct encodes to the bytes the real <linux/vfio.h> layout
// has and decodes back to the same JSON; names and flag lists resolve; bad input is an error with
// its path, never an exception.
#include <linux/vfio.h>

#include <cstring>

#include <gtest/gtest.h>

#include "vfio/uapi/layout.h"
#include "vfio/uapi/uapi.h"

namespace vfiosim::uapi {
namespace {

using nlohmann::json;

std::optional<int64_t> names(const std::string& n) {
  if (n == "buf") return 0x7f0000001000;
  if (n == "efd") return 5;
  if (n == "group") return 7;
  return std::nullopt;
}

std::vector<uint8_t> bytes_of(const std::string& request, const json& arg) {
  auto e = encode(request, arg, names);
  EXPECT_TRUE(e.ok()) << request << ": " << (e.ok() ? "" : e.error().text());
  if (!e) return {};
  EXPECT_EQ(e->kind, Encoded::Kind::Pointer);
  return e->bytes;
}

template <class T>
T as(const std::vector<uint8_t>& b) {
  T t{};
  EXPECT_GE(b.size(), sizeof t);
  std::memcpy(&t, b.data(), std::min(b.size(), sizeof t));
  return t;
}

// encode -> decode gives back what was written, with argsz filled in.
void expect_round_trip(const std::string& request, json arg) {
  const auto b = bytes_of(request, arg);
  const json back = decode(*find_ioctl(request), b);
  if (!arg.contains("argsz")) arg["argsz"] = b.size();
  for (auto it = arg.begin(); it != arg.end(); ++it) EXPECT_EQ(back[it.key()], *it) << request << " " << it.key();
  EXPECT_FALSE(back.contains("malformed")) << back.dump();
}

TEST(UapiCodec, EveryStructIoctlHasALayoutOfItsRealSize) {
  int structs = 0;
  for (const auto& i : ioctl_table()) {
    if (i.arg != IoctlArg::Struct) continue;
    const StructDesc* sd = find_struct(i.type);
    ASSERT_NE(sd, nullptr) << i.name;
    EXPECT_EQ(std::string(sd->fields[0].name), "argsz") << i.name;
    ++structs;
  }
  EXPECT_EQ(structs, 12);
  EXPECT_EQ(find_struct("vfio_region_info")->size, sizeof(vfio_region_info));
  EXPECT_EQ(find_struct("ccw_io_region")->size, 124u);  // packed: 12 + 12 + 96 + 4
}

TEST(UapiCodec, MapDmaIsTheRealStruct) {
  const auto b = bytes_of("VFIO_IOMMU_MAP_DMA", {{"flags", {"VFIO_DMA_MAP_FLAG_READ", "VFIO_DMA_MAP_FLAG_WRITE"}},
                                                 {"vaddr", "buf"}, {"iova", 0x100000}, {"size", 8192}});
  ASSERT_EQ(b.size(), sizeof(vfio_iommu_type1_dma_map));
  const auto m = as<vfio_iommu_type1_dma_map>(b);
  EXPECT_EQ(m.argsz, sizeof m);
  EXPECT_EQ(m.flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
  EXPECT_EQ(m.vaddr, 0x7f0000001000u);
  EXPECT_EQ(m.iova, 0x100000u);
  EXPECT_EQ(m.size, 8192u);
}

TEST(UapiCodec, HeaderStructsRoundTrip) {
  expect_round_trip("VFIO_GROUP_GET_STATUS", {{"flags", 3}});
  expect_round_trip("VFIO_DEVICE_GET_INFO", {{"flags", 3}, {"num_regions", 9}, {"num_irqs", 5}});
  expect_round_trip("VFIO_DEVICE_GET_IRQ_INFO", {{"index", 2}, {"flags", 9}, {"count", 2048}});
  expect_round_trip("VFIO_IOMMU_MAP_DMA", {{"flags", 3}, {"vaddr", 4096}, {"iova", 0}, {"size", 4096}});
  expect_round_trip("VFIO_IOMMU_UNMAP_DMA", {{"flags", 2}, {"iova", 0}, {"size", 0}});
  expect_round_trip("VFIO_IOMMU_DIRTY_PAGES", {{"flags", 1}});
  expect_round_trip("VFIO_DEVICE_GET_REGION_INFO",
                    {{"index", 7}, {"flags", 3}, {"size", 4096}, {"offset", uint64_t{7} << 40}});
}

TEST(UapiCodec, IrqSetEventfdsAndBools) {
  auto b = bytes_of("VFIO_DEVICE_SET_IRQS", {{"flags", {"VFIO_IRQ_SET_DATA_EVENTFD", "VFIO_IRQ_SET_ACTION_TRIGGER"}},
                                            {"index", "VFIO_PCI_MSIX_IRQ_INDEX"}, {"start", 0}, {"count", 2},
                                            {"data", {"efd", -1}}});
  ASSERT_EQ(b.size(), sizeof(vfio_irq_set) + 8);
  const auto s = as<vfio_irq_set>(b);
  EXPECT_EQ(s.argsz, b.size());
  EXPECT_EQ(s.index, VFIO_PCI_MSIX_IRQ_INDEX);
  int32_t fds[2];
  std::memcpy(fds, b.data() + sizeof s, sizeof fds);
  EXPECT_EQ(fds[0], 5);
  EXPECT_EQ(fds[1], -1);
  expect_round_trip("VFIO_DEVICE_SET_IRQS", {{"flags", 0x24}, {"index", 2}, {"start", 0}, {"count", 2}, {"data", {5, -1}}});

  b = bytes_of("VFIO_DEVICE_SET_IRQS", {{"flags", {"VFIO_IRQ_SET_DATA_BOOL", "VFIO_IRQ_SET_ACTION_MASK"}},
                                       {"count", 3}, {"data", {1, 0, 1}}});
  ASSERT_EQ(b.size(), sizeof(vfio_irq_set) + 3);
  EXPECT_EQ(b[sizeof(vfio_irq_set)], 1);
  EXPECT_EQ(b[sizeof(vfio_irq_set) + 1], 0);
  expect_round_trip("VFIO_DEVICE_SET_IRQS", {{"flags", 0x22}, {"index", 0}, {"start", 0}, {"count", 3}, {"data", {1, 0, 1}}});
  // DATA_NONE has no data[] to decode.
  EXPECT_FALSE(decode(*find_ioctl("VFIO_DEVICE_SET_IRQS"), bytes_of("VFIO_DEVICE_SET_IRQS", {{"flags", 0x21}})).contains("data"));
}

TEST(UapiCodec, HotResetInfoDevicesAndHotResetGroupFds) {
  const json devices = {{{"group_id", 12}, {"segment", 0}, {"bus", 3}, {"devfn", 8}},
                        {{"group_id", 13}, {"segment", 1}, {"bus", 4}, {"devfn", 9}}};
  const auto b = bytes_of("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", {{"devices", devices}});
  ASSERT_EQ(b.size(), sizeof(vfio_pci_hot_reset_info) + 2 * sizeof(vfio_pci_dependent_device));
  EXPECT_EQ(as<vfio_pci_hot_reset_info>(b).count, 2u);  // count defaults to the array's length
  vfio_pci_dependent_device d;
  std::memcpy(&d, b.data() + sizeof(vfio_pci_hot_reset_info) + sizeof d, sizeof d);
  EXPECT_EQ(d.group_id, 13u);
  EXPECT_EQ(d.segment, 1);
  EXPECT_EQ(d.devfn, 9);
  expect_round_trip("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", {{"flags", 0}, {"count", 2}, {"devices", devices}});
  expect_round_trip("VFIO_DEVICE_PCI_HOT_RESET", {{"flags", 0}, {"count", 2}, {"data", {7, 9}}});
  EXPECT_EQ(decode(*find_ioctl("VFIO_DEVICE_PCI_HOT_RESET"), bytes_of("VFIO_DEVICE_PCI_HOT_RESET", {{"count", 1}, {"data", {"group"}}}))["data"],
            json({7}));
}

TEST(UapiCodec, DeviceFeatureUuidAndBytes) {
  const std::string token = "4f1c2d3e-aaaa-bbbb-cccc-0123456789ab";
  const json flags = {"VFIO_DEVICE_FEATURE_SET", "VFIO_DEVICE_FEATURE_PCI_VF_TOKEN"};
  const auto b = bytes_of("VFIO_DEVICE_FEATURE", {{"flags", flags}, {"data", token}});
  ASSERT_EQ(b.size(), sizeof(vfio_device_feature) + 16);
  EXPECT_EQ(b[sizeof(vfio_device_feature)], 0x4f);
  EXPECT_EQ(b.back(), 0xab);
  expect_round_trip("VFIO_DEVICE_FEATURE", {{"flags", VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN}, {"data", token}});
  expect_round_trip("VFIO_DEVICE_FEATURE", {{"flags", VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION},
                                            {"data", {1, 0, 0, 0, 0, 0, 0, 0}}});
  // Upper-case UUIDs parse; the decode prints lower case.
  auto upper = bytes_of("VFIO_DEVICE_FEATURE", {{"flags", flags}, {"data", "4F1C2D3E-AAAA-BBBB-CCCC-0123456789AB"}});
  EXPECT_EQ(decode(*find_ioctl("VFIO_DEVICE_FEATURE"), upper)["data"], token);
}

TEST(UapiCodec, DirtyBitmapsInData) {
  const json bitmap = {{"pgsize", 4096}, {"size", 8}, {"data", "buf"}};
  auto b = bytes_of("VFIO_IOMMU_UNMAP_DMA", {{"flags", "VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP"}, {"iova", 0}, {"size", 65536}, {"data", bitmap}});
  ASSERT_EQ(b.size(), sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap));
  vfio_bitmap vb;
  std::memcpy(&vb, b.data() + sizeof(vfio_iommu_type1_dma_unmap), sizeof vb);
  EXPECT_EQ(vb.pgsize, 4096u);
  EXPECT_EQ(reinterpret_cast<uint64_t>(vb.data), 0x7f0000001000u);
  EXPECT_EQ(decode(*find_ioctl("VFIO_IOMMU_UNMAP_DMA"), b)["data"]["data"], 0x7f0000001000u);

  const json get = {{"iova", 0x100000}, {"size", 0x40000}, {"bitmap", {{"pgsize", 4096}, {"size", 8}, {"data", 0x2000}}}};
  expect_round_trip("VFIO_IOMMU_DIRTY_PAGES", {{"flags", VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP}, {"data", get}});
  b = bytes_of("VFIO_IOMMU_DIRTY_PAGES", {{"flags", VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP}, {"data", get}});
  vfio_iommu_type1_dirty_bitmap_get g;
  std::memcpy(&g, b.data() + sizeof(vfio_iommu_type1_dirty_bitmap), sizeof g);
  EXPECT_EQ(g.size, 0x40000u);
  EXPECT_EQ(g.bitmap.size, 8u);
  // Without the flag the kernel ignores data[], and so does decode.
  EXPECT_FALSE(decode(*find_ioctl("VFIO_IOMMU_DIRTY_PAGES"), bytes_of("VFIO_IOMMU_DIRTY_PAGES", {{"flags", 1}, {"data", get}})).contains("data"));
}

TEST(UapiCodec, OtherArgumentKinds) {
  auto v = encode("VFIO_SET_IOMMU", "VFIO_TYPE1v2_IOMMU", names);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Encoded::Kind::Value);
  EXPECT_EQ(v->value, uint64_t{VFIO_TYPE1v2_IOMMU});
  EXPECT_EQ(encode("VFIO_DEVICE_RESET", nullptr, names)->kind, Encoded::Kind::None);
  EXPECT_EQ(encode("VFIO_IOMMU_MAP_DMA", nullptr, names)->kind, Encoded::Kind::Null);
  const auto fd = bytes_of("VFIO_GROUP_SET_CONTAINER", "group");
  EXPECT_EQ(fd, (std::vector<uint8_t>{7, 0, 0, 0}));
  EXPECT_EQ(decode(*find_ioctl("VFIO_GROUP_SET_CONTAINER"), fd), 7);
  const auto name = bytes_of("VFIO_GROUP_GET_DEVICE_FD", "0000:01:00.0");
  EXPECT_EQ(name.size(), 13u);
  EXPECT_EQ(name.back(), 0);
  EXPECT_EQ(decode(*find_ioctl("VFIO_GROUP_GET_DEVICE_FD"), name), "0000:01:00.0");
  // The caller's names come before the constants; sizes are the caller's business.
  EXPECT_EQ(*value("VFIO_TYPE1_IOMMU", [](const std::string&) { return std::optional<int64_t>(42); }), 42);
}

TEST(UapiCodec, ArgszIsTheCallersWhenGiven) {
  // A short argsz still gets a whole struct behind it (the kernel decides what to read).
  auto b = bytes_of("VFIO_IOMMU_GET_INFO", {{"argsz", 16}});
  ASSERT_EQ(b.size(), sizeof(vfio_iommu_type1_info));
  EXPECT_EQ(as<vfio_iommu_type1_info>(b).argsz, 16u);
  b = bytes_of("VFIO_IOMMU_GET_INFO", {{"argsz", 256}});
  EXPECT_EQ(b.size(), 256u);
  // A huge argsz is written as asked; the buffer stops at kMaxArgBytes.
  b = bytes_of("VFIO_IOMMU_GET_INFO", {{"argsz", 0xffffffffu}});
  EXPECT_EQ(b.size(), kMaxArgBytes);
  EXPECT_EQ(as<vfio_iommu_type1_info>(b).argsz, 0xffffffffu);
}

TEST(UapiCodec, CcwRegionsAsByteLayouts) {
  const json io = {{"orb_area", "000102030405060708090a0b"}, {"ret_code", 0}};
  auto b = encode_struct("ccw_io_region", io, names);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 124u);
  EXPECT_EQ((*b)[11], 0x0b);
  auto back = decode_struct("ccw_io_region", b->data(), b->size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)["orb_area"], "000102030405060708090a0b");
  EXPECT_EQ((*back)["irb_area"].get<std::string>().size(), 192u);
  b = encode_struct("ccw_cmd_region", {{"command", "VFIO_CCW_ASYNC_CMD_CSCH"}, {"ret_code", -5}}, names);
  ASSERT_TRUE(b.ok());
  const json cmd = *decode_struct("ccw_cmd_region", b->data(), b->size());
  EXPECT_EQ(cmd["command"], 2);
  EXPECT_EQ(cmd["ret_code"], 0xfffffffbu);
  EXPECT_EQ(encode_struct("ccw_schib_region", {{"schib_area", std::string(106, '0')}}, names).error().text(),
            "/schib_area: expected at most 52 bytes");
  EXPECT_FALSE(decode_struct("no_such_struct", nullptr, 0).ok());
}

}  // namespace
}  // namespace vfiosim::uapi
