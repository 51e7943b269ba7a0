// Containers holding an emulated-IOMMU (mdev) group and a physical group (vfio-core.md §5.7):
// C-85 (a reserved region of the joining group overlaps a mapping: refused, container unchanged),
// C-86 (a mapping made while only mdev groups were attached lies beyond a new domain's aperture:
// the attach fails in the replay and the container is unchanged), C-89 (the last IOMMU group
// leaves while an mdev group stays: every mapping persists and only the externally pinned pages
// stay charged), and the replay that pins and maps an mdev-only container's mappings when its
// first physical group arrives.
#include "tests/conformance/emulated_machine.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

// Hands 01:00.0 to vfio-pci and joins its group to the emulated device's container.
long join_physical_group(Machine& m, Task& t, const Machine::VfioFds& s, int& group) {
  m.to_vfio_pci("0000:01:00.0");
  group = static_cast<int>(m.sys().open(t, "/dev/vfio/1"));
  EXPECT_GE(group, 0);
  EXPECT_NE(group, s.group);
  return m.set_container(t, group, s.container);
}

}  // namespace

TEST(VfioMixedContainer, FirstPhysicalGroupPinsAndMapsTheMdevOnlyMappings) {
  Machine m;
  long attach = -1;
  uint64_t locked_before = 1, locked_after = 0, phys = 0, expect_phys = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.pin(0x100000, 1, &expect_phys), 1);
    locked_before = t.mm()->locked_vm;  // only the external pin is charged
    int g = -1;
    attach = join_physical_group(m, t, s, g);
    locked_after = t.mm()->locked_vm;  // the replay pinned the whole mapping; the pinned page once
    IommuCore& core = *m.pci().iommu();
    iommu_group* grp = core.iommu_group_get(&m.dev("0000:01:00.0").dev);
    phys = grp && grp->domain ? core.iommu_iova_to_phys(grp->domain, 0x100000) : 0;
    if (grp) core.iommu_group_put(grp);
    m.teardown(t);
    m.kernel().shutdown();
  });
  EXPECT_EQ(locked_before, 1u);
  EXPECT_EQ(attach, 0);
  EXPECT_EQ(locked_after, 256u);
  EXPECT_EQ(phys, expect_phys);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}

TEST(VfioMixedContainer, C_86_AnMdevMappingBeyondTheNewApertureFailsTheAttach) {
  Machine m(support::one_engine().iommu({{"preset", "broadwell-vtd"}, {"levels", {3}}}));  // 39-bit aperture
  long attach = -1, unmap_high = -1, attach_after = -1;
  uint64_t high_size = 0, locked_failed = 1, locked_after = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(2 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.map_dma(t, s.container, buf + (1 << 20), 1ULL << 40, 4096, RW), 0);  // no IOVA list yet
    int g = -1;
    attach = join_physical_group(m, t, s, g);  // the empty list has no conflict; the replay fails
    locked_failed = t.mm()->locked_vm;               // the replay's pins were undone
    const auto high = m.unmap_dma(t, s.container, 1ULL << 40, 4096);  // the container kept it
    unmap_high = high.ret;
    high_size = high.size;
    attach_after = m.set_container(t, g, s.container);
    locked_after = t.mm()->locked_vm;
    m.teardown(t);
    m.kernel().shutdown();  // vfio-pci lets go of 01:00.0
  });
  EXPECT_EQ(attach, -EFAULT);  // intel_iommu_map(): the IOMMU width is not sufficient
  EXPECT_EQ(locked_failed, 0u);
  EXPECT_EQ(unmap_high, 0);
  EXPECT_EQ(high_size, 4096u);
  EXPECT_EQ(attach_after, 0);  // with the high mapping gone the same group attaches
  EXPECT_EQ(locked_after, 256u);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}

TEST(VfioMixedContainer, C_89_LastIommuGroupLeavingKeepsTheMappingsForTheMdevGroup) {
  Machine m;
  long unset = -1, unmap_ret = -1;
  uint64_t locked_attached = 0, locked_detached = 0, locked_unpinned = 1, unmapped = 0;
  int unmap_calls = -1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    int g = -1;
    EXPECT_EQ(join_physical_group(m, t, s, g), 0);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.pin(0x100000, 2), 2);
    locked_attached = t.mm()->locked_vm;  // the domain charged the mapping; external pins add nothing
    unset = m.sys().ioctl(t, g, VFIO_GROUP_UNSET_CONTAINER, 0);
    locked_detached = t.mm()->locked_vm;  // vfio_iommu_unmap_unpin_reaccount(): the two pinned pages
    m.unpin();
    locked_unpinned = t.mm()->locked_vm;
    const int calls = m.emul->unmap_calls;
    const auto u = m.unmap_dma(t, s.container, 0x100000, 1 << 20);  // the mapping persisted
    unmap_ret = u.ret;
    unmapped = u.size;
    unmap_calls = m.emul->unmap_calls - calls;
    m.teardown(t);
    m.kernel().shutdown();
  });
  EXPECT_EQ(locked_attached, 256u);
  EXPECT_EQ(unset, 0);
  EXPECT_EQ(locked_detached, 2u);
  EXPECT_EQ(locked_unpinned, 0u);
  EXPECT_EQ(unmap_ret, 0);
  EXPECT_EQ(unmapped, 1u << 20);
  EXPECT_EQ(unmap_calls, 0);  // nothing pinned any more: no notifier round
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}

// C-85: a group whose reserved region overlaps an existing mapping cannot join. On VT-d every
// group reports the MSI window [0xfee00000, 0xfeefffff] (IOMMU_RESV_MSI); an mdev-only container
// (no IOVA list) may map there. The attach fails with EINVAL, and the container is unchanged:
// the mapping stays, still unpinned and uncharged, and the IOVA list stays unrestricted. Once
// the mapping is gone the group joins.
TEST(VfioMixedContainer, C_85_ReservedRegionOverlappingAMappingRefusesTheGroup) {
  Machine m;
  long attach = 0, attach_after = -1;
  uint64_t unmapped = 0, locked = 1;
  uint32_t cap_offset = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0xfee00000, 0x1000, RW), 0);
    int g = -1;
    attach = join_physical_group(m, t, s, g);
    locked = t.mm()->locked_vm;
    std::vector<uint8_t> reply;
    cap_offset = m.get_info(t, s.container, reply).cap_offset;
    const auto u = m.unmap_dma(t, s.container, 0xfee00000, 0x1000);
    EXPECT_EQ(u.ret, 0);
    unmapped = u.size;
    attach_after = m.set_container(t, g, s.container);
    m.teardown(t);
    m.unbind("0000:01:00.0");
  });
  EXPECT_EQ(attach, -EINVAL);
  EXPECT_EQ(locked, 0u) << "nothing was pinned for the refused group";
  EXPECT_EQ(cap_offset, 24u) << "MIGRATION and DMA_AVAIL only: the IOVA list is still unrestricted";
  EXPECT_EQ(unmapped, 0x1000u) << "the mapping survived the refused attach";
  EXPECT_EQ(attach_after, 0);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}
