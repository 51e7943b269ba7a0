// C-98 (vfio-core.md §5.8, §3.9): dirty-page scope of IOMMU-backed groups. A physical group whose
// driver calls vfio_pin_pages enters the pinned-page scope; while another physical group outside
// it shares the container every mapped page is reported dirty; when that group leaves while
// tracking, every page is marked dirty once; after that only pinned and written pages are.
#include "tests/conformance/emulated_machine.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

TEST(VfioDirty, C_98_PinningPhysicalGroupNarrowsTheDirtyScope) {
  // Two root ports: 01:00.0 and 02:00.0 in groups of their own.
  const json ports = {{{"bdf", "00:01.0"}, {"children", {{{"bdf", "01:00.0"}, {"model", "dma-engine"}}}}},
                      {{"bdf", "00:02.0"}, {"children", {{{"bdf", "02:00.0"}, {"model", "dma-engine"}}}}}};
  Machine m(json{{"preset", "broadwell-vtd"}}, json::object(), ports);
  std::vector<uint64_t> reports;
  int pinned = 0;
  sctest::run_in_thread([&] {
    m.platform->wait_until_booted();
    PciPlatform& pci = *m.platform->pci();
    pci_dev& da = *pci.kernel().find("0000:01:00.0");
    pci_dev& db = *pci.kernel().find("0000:02:00.0");
    // 01:00.0 goes to the pinning test driver (a physical group), 02:00.0 to vfio-pci.
    pci_driver* harness = pci.drivers().find_driver("vfiosim-dmae");
    pci.drivers().unbind(*harness, da);
    pci.drivers().unbind(*harness, db);
    pci.drivers().set_driver_override(db, "vfio-pci");
    pci.drivers().probe_device(db);
    int err = 0;
    m.dev = m.vfio().vfio_alloc_device<emul_device>(&da.dev, &m.ops, &err);
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&m.dev->vdev), 0);
    Task& t = pci.task("qemu");
    int c, a, b;
    {
      CurrentScope cs(t);
      c = pci.vfs().open(t, "/dev/vfio/vfio");
      a = pci.vfs().open(t, "/dev/vfio/" + std::to_string(da.dev.iommu_group->id));
      b = pci.vfs().open(t, "/dev/vfio/" + std::to_string(db.dev.iommu_group->id));
    }
    ASSERT_NE(da.dev.iommu_group, db.dev.iommu_group);
    ASSERT_EQ(m.sys_ioctl(t, a, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&c, sizeof c)), 0);
    ASSERT_EQ(m.sys_ioctl(t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    ASSERT_EQ(m.sys_ioctl(t, b, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&c, sizeof c)), 0);
    const std::string name = "0000:01:00.0";
    ASSERT_GE(m.sys_ioctl(t, a, VFIO_GROUP_GET_DEVICE_FD, t.alloc_arg(name.c_str(), name.size() + 1)), 0);
    const uint64_t buf = t.mmap_anonymous(8 * 4096, false);
    ASSERT_EQ(m.map(t, c, buf, 0x100000, 8 * 4096, RW), 0);
    ASSERT_EQ(m.dirty(t, c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
    auto report = [&] { reports.push_back(m.get_bitmap(t, c, 0x100000, 8 * 4096).second); };
    report();  // neither group scoped: all
    pinned = m.pin(0x100000 + 3 * 4096, 1);
    report();  // group B is still outside the scope: all
    ASSERT_EQ(m.sys_ioctl(t, b, VFIO_GROUP_UNSET_CONTAINER, 0), 0);  // B leaves while tracking
    report();  // populated in full once
    report();  // then only the pinned page
    uint8_t bytes[16] = {1};
    EXPECT_EQ(m.vfio().vfio_dma_rw(&m.dev->vdev, 0x100000 + 5 * 4096, bytes, sizeof bytes, true), 0);
    report();  // pinned + written
    m.unpin();
    report();  // re-set by the previous report
    report();  // nothing
    m.teardown(t);
    pci.drivers().unbind(*pci.drivers().find_driver("vfio-pci"), db);
  });
  EXPECT_EQ(pinned, 1);
  EXPECT_EQ(reports, (std::vector<uint64_t>{0xff, 0xff, 0xff, 0x08, 0x28, 0x08, 0x00}));
  for (const auto& l : m.platform->pci()->leaks()) ADD_FAILURE() << l;
}
