// Bad input to the UAPI module is an error naming the place inside the argument, returned (never
// thrown); check() finds what it can before names are known.
#include <linux/vfio.h>

#include <gtest/gtest.h>

#include "vfio/uapi/uapi.h"

namespace vfiosim::uapi {
namespace {

using nlohmann::json;

std::optional<int64_t> names(const std::string& n) {
  if (n == "efd") return 5;
  return std::nullopt;
}

std::string error_of(const std::string& request, const json& arg) {
  auto e = encode(request, arg, names);
  EXPECT_FALSE(e.ok()) << request << " " << arg.dump();
  return e.ok() ? "" : e.error().text();
}

TEST(UapiErrors, UnknownFieldsAndShapes) {
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"iova", 0}, {"lenght", 4096}}),
            "/lenght: struct vfio_iommu_type1_dma_map has no field \"lenght\"");
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", 5), "expected an object with the fields of struct vfio_iommu_type1_dma_map");
  EXPECT_EQ(error_of("VFIO_GROUP_GET_DEVICE_FD", 5), "expected the device name as a string");
  EXPECT_EQ(error_of("VFIO_NO_SUCH_IOCTL", nullptr), "unknown ioctl \"VFIO_NO_SUCH_IOCTL\"");
  // data[] only where the struct has one, of the kind it has.
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"data", {1}}}), "/data: struct vfio_iommu_type1_dma_map has no field \"data\"");
  EXPECT_EQ(error_of("VFIO_DEVICE_SET_IRQS", {{"data", 5}}), "/data: expected an array of descriptors (or bools)");
  EXPECT_EQ(error_of("VFIO_DEVICE_FEATURE", {{"data", "not-a-uuid"}}),
            "/data: expected a UUID \"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\", got \"not-a-uuid\"");
  EXPECT_EQ(error_of("VFIO_DEVICE_FEATURE", {{"data", {{"a", 1}}}}), "/data: expected a UUID string or an array of bytes");
  EXPECT_EQ(error_of("VFIO_IOMMU_UNMAP_DMA", {{"data", {{"pgsize", 4096}, {"bits", 1}}}}),
            "/data/bits: struct vfio_bitmap has no field \"bits\"");
  EXPECT_EQ(error_of("VFIO_IOMMU_DIRTY_PAGES", {{"data", {{"bitmap", {{"pgsz", 1}}}}}}),
            "/data/bitmap/pgsz: struct vfio_bitmap has no field \"pgsz\"");
  EXPECT_EQ(error_of("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", {{"devices", {{{"group", 1}}}}}),
            "/devices/0/group: struct vfio_pci_dependent_device has no field \"group\"");
  EXPECT_EQ(error_of("VFIO_IOMMU_GET_INFO", {{"caps", {{"sparse_mmap", json::array()}}}}),
            "/caps/sparse_mmap: struct vfio_iommu_type1_info has no capability \"sparse_mmap\"");
  EXPECT_EQ(error_of("VFIO_DEVICE_GET_REGION_INFO", {{"caps", {{"msix_mappable", 1}}}}), "/caps/msix_mappable: expected true");
  EXPECT_EQ(error_of("VFIO_DEVICE_GET_REGION_INFO", {{"caps", {{"type", {{"typo", 1}}}}}}),
            "/caps/type/typo: struct vfio_region_info_cap_type has no field \"typo\"");
  EXPECT_EQ(error_of("VFIO_DEVICE_GET_REGION_INFO", {{"caps", {{"sparse_mmap", {1}}}}}),
            "/caps/sparse_mmap/0: expected an object with the fields of struct vfio_region_sparse_mmap_area");
}

TEST(UapiErrors, NothingThrows) {
  // Whatever shape the argument has, every request answers with bytes or an error.
  const std::vector<json> shapes = {
      nullptr, 1, -1, 1.5, true, "efd", "VFIO_TYPE1_IOMMU", json::array(), json::array({json::array({1})}),
      json::object(), {{"data", nullptr}}, {{"data", {{"x", 1}}}}, {{"data", {nullptr, true}}}, {{"caps", 5}},
      {{"caps", {{"unknown", {5}}}}}, {{"caps", {{"iova_ranges", {{{"start", "x"}}}}}}}, {{"devices", {{{"bus", 1}}, 5}}},
      {{"argsz", -1}}, {{"argsz", "efd"}}, {{"flags", json::array({json::object()})}}, {{"data", "zz"}}};
  int errors = 0;
  for (const auto& i : ioctl_table())
    for (const auto& arg : shapes) {
      EXPECT_NO_THROW({
        auto e = encode(i, arg, names);
        if (!e) {
          ++errors;
          EXPECT_FALSE(e.error().message.empty());
        }
      }) << i.name << " " << arg.dump();
    }
  EXPECT_GT(errors, 100);
}

TEST(UapiErrors, CheckListsEveryProblemWithoutResolving) {
  const auto errors = check(*find_ioctl("VFIO_IOMMU_MAP_DMA"), {{"a", 1}, {"b", 2}, {"vaddr", "not-yet-known"}});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "/a");
  EXPECT_EQ(errors[1].path, "/b");
  EXPECT_TRUE(check(*find_ioctl("VFIO_DEVICE_SET_IRQS"), {{"flags", 0x24}, {"data", {"efd"}}}).empty());
  EXPECT_TRUE(check(*find_ioctl("VFIO_IOMMU_MAP_DMA"), nullptr).empty());  // a NULL pointer is an argument too
}

TEST(UapiErrors, NamesAndValues) {
  EXPECT_EQ(error_of("VFIO_DEVICE_SET_IRQS", {{"flags", 0x24}, {"count", 2}, {"data", {"efd", "nope"}}}),
            "/data/1: unknown name \"nope\" (not a descriptor or buffer of this process, nor a VFIO constant)");
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"flags", {"VFIO_DMA_MAP_FLAG_READ", "VFIO_DMA_MAP_FLAG_RAED"}}}),
            "/flags/1: unknown name \"VFIO_DMA_MAP_FLAG_RAED\" (not a descriptor or buffer of this process, nor a VFIO constant)");
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"iova", 1.5}}), "/iova: cannot use 1.5 as a value");
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"flags", true}}), "/flags: cannot use true as a value");
  EXPECT_EQ(error_of("VFIO_IOMMU_MAP_DMA", {{"flags", uint64_t{1} << 32}}), "/flags: 4294967296 does not fit in 4 bytes");
  EXPECT_EQ(error_of("VFIO_DEVICE_SET_IRQS", {{"flags", "VFIO_IRQ_SET_DATA_BOOL"}, {"data", {256}}}),
            "/data/0: 256 does not fit in 1 byte");
  EXPECT_EQ(error_of("VFIO_DEVICE_SET_IRQS", {{"flags", "VFIO_IRQ_SET_DATA_BOOL|"}, {"data", {1}}}),
            "/flags: unknown name \"VFIO_IRQ_SET_DATA_BOOL|\" (not a descriptor or buffer of this process, nor a VFIO constant)");
  EXPECT_EQ(error_of("VFIO_GROUP_SET_CONTAINER", "container"),
            "unknown name \"container\" (not a descriptor or buffer of this process, nor a VFIO constant)");
  EXPECT_EQ(error_of("VFIO_SET_IOMMU", json::object()), "cannot use {} as a value");
  // Both readings of a value fit: -1 in a u32 is 0xffffffff; u64 fields take any 64-bit value.
  EXPECT_TRUE(encode("VFIO_DEVICE_GET_REGION_INFO", {{"index", -1}}, names).ok());
  EXPECT_TRUE(encode("VFIO_IOMMU_MAP_DMA", {{"size", 0xffffffffffffffffu}}, names).ok());
}

TEST(UapiErrors, BytesAndUuids) {
  EXPECT_EQ(parse_bytes("0g", "/x").error().text(), "/x: expected an even number of hex digits");
  EXPECT_EQ(parse_bytes("012", "/x").error().text(), "/x: expected an even number of hex digits");
  EXPECT_EQ(parse_bytes(json::array({1, 300}), "").error().text(), "expected byte values from 0 to 255");
  EXPECT_EQ(parse_bytes(json::object(), "").error().text(), "expected a hex string or an array of bytes");
  EXPECT_EQ(*parse_bytes("de ad BE ef", ""), (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_FALSE(parse_uuid("4f1c2d3e-aaaa-bbbb-cccc-0123456789a"));   // short
  EXPECT_FALSE(parse_uuid("4f1c2d3e-aaaa-bbbb-cccc-0123456789abc"));  // long
  EXPECT_FALSE(parse_uuid("4f1c2d3e+aaaa-bbbb-cccc-0123456789ab"));  // not a dash
  EXPECT_FALSE(parse_uuid("4f1c2d3e-aaaa-bbbb-cccc-0123456789ag"));  // not hex
}

}  // namespace
}  // namespace vfiosim::uapi

// Found by fuzz/uapi_decode_fuzz: a string argument holding bytes that are not UTF-8 decoded to a
// JSON string that threw when the report was written. Non-printable bytes now come out escaped.
namespace vfiosim::uapi {
TEST(UapiErrors, StringArgumentBytesAlwaysMakeValidJson) {
  using nlohmann::json;
  const uint8_t raw[] = {0x8c, 'a', '\\', 0x01, 'b', 0, 'c'};
  const json out = decode(*find_ioctl("VFIO_GROUP_GET_DEVICE_FD"), raw, sizeof raw);
  ASSERT_TRUE(out.is_string());
  EXPECT_EQ(out.get<std::string>(), "\\x8ca\\x5c\\x01b");
  EXPECT_NO_THROW((void)out.dump());
}
}  // namespace vfiosim::uapi
