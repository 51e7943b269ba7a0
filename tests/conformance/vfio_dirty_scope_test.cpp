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
  Machine m(support::MachineBuilder().engine("00:01.0", "01:00.0").engine("00:02.0", "02:00.0"));
  std::vector<uint64_t> reports;
  int pinned = 0;
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    pci_dev& da = *pci.core().find("0000:01:00.0");
    pci_dev& db = *pci.core().find("0000:02:00.0");
    // 01:00.0 goes to the pinning test driver (a physical group), 02:00.0 to vfio-pci.
    m.unbind("0000:01:00.0");
    m.to_vfio_pci("0000:02:00.0");
    int err = 0;
    m.emul = m.vfio().vfio_alloc_device<emul_device>(&da.dev, &m.ops, &err);
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&m.emul->vdev), 0);
    Task& t = pci.kernel().task("qemu");
    ASSERT_NE(da.dev.iommu_group, db.dev.iommu_group);
    const auto fds = m.open_container(t, m.group_path("0000:01:00.0"));
    const int c = fds.container;
    const int b = static_cast<int>(m.sys().open(t, m.group_path("0000:02:00.0")));
    ASSERT_EQ(m.set_container(t, b, c), 0);
    ASSERT_GE(m.get_device_fd(t, fds.group, "0000:01:00.0"), 0);
    const uint64_t buf = t.mmap_anonymous(8 * 4096, false);
    ASSERT_EQ(m.map_dma(t, c, buf, 0x100000, 8 * 4096, RW), 0);
    ASSERT_EQ(m.dirty(t, c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
    auto report = [&] { reports.push_back(m.get_bitmap(t, c, 0x100000, 8 * 4096).second); };
    report();  // neither group scoped: all
    pinned = m.pin(0x100000 + 3 * 4096, 1);
    report();  // group B is still outside the scope: all
    ASSERT_EQ(m.sys().ioctl(t, b, VFIO_GROUP_UNSET_CONTAINER, 0), 0);  // B leaves while tracking
    report();  // populated in full once
    report();  // then only the pinned page
    uint8_t bytes[16] = {1};
    EXPECT_EQ(m.vfio().vfio_dma_rw(&m.emul->vdev, 0x100000 + 5 * 4096, bytes, sizeof bytes, true), 0);
    report();  // pinned + written
    m.unpin();
    report();  // re-set by the previous report
    report();  // nothing
    m.teardown(t);
    m.unbind("0000:02:00.0");
  });
  EXPECT_EQ(pinned, 1);
  EXPECT_EQ(reports, (std::vector<uint64_t>{0xff, 0xff, 0xff, 0x08, 0x28, 0x08, 0x00}));
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}
