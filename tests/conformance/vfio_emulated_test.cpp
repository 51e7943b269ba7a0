// The emulated-IOMMU services of type1 with an in-simulator test driver registered through
// vfio_register_emulated_iommu_dev (vfio-core.md §3.10, §5.5, §5.9): C-68 (an mdev-only container
// maps without pinning and without an IOVA list), C-100, C-101, C-103, C-104, C-106, C-107, and the
// unmap notifier asking the driver to unpin before a pinned mapping goes (C-134 pairing).
#include "tests/conformance/emulated_machine.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

TEST(VfioEmulated, C_68_MdevOnlyContainerMapsWithoutPinningAnywhere) {
  Machine m;
  long at_msi = -1;
  uint64_t locked = 1, pgsizes = 0;
  uint32_t cap_offset = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    locked = t.mm()->locked_vm;
    at_msi = m.map_dma(t, s.container, buf, 0xfee00000, 4096, RW);  // no IOVA list: any aligned IOVA
    std::vector<uint8_t> reply;
    const vfio_iommu_type1_info info = m.get_info(t, s.container, reply);
    pgsizes = info.iova_pgsizes;
    cap_offset = info.cap_offset;
    m.teardown(t);
  });
  EXPECT_EQ(locked, 0u);
  EXPECT_EQ(at_msi, 0);
  EXPECT_EQ(pgsizes, ~0xFFFULL);  // PAGE_MASK with no domain
  EXPECT_EQ(cap_offset, 24u);     // MIGRATION and DMA_AVAIL only: no IOVA_RANGE
  EXPECT_TRUE(m.kernel().leaks().empty());
}

TEST(VfioEmulated, C_100_C_103_C_104_C_106_PinPagesValidationAndAccounting) {
  Machine m;
  int e2big = 0, zero = 0, unmapped = 0, perm = 0, ok = 0, over = 0;
  uint64_t locked_pinned = 0, locked_unpinned = 1;
  std::vector<uint64_t> pages;
  bool unwound = false;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(2 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.map_dma(t, s.container, buf + (1 << 20), 0x400000, 4096, VFIO_DMA_MAP_FLAG_READ), 0);
    auto* d = &m.emul->vdev;
    e2big = m.vfio().vfio_pin_pages(d, 0x100000, 513, IOMMU_READ, &pages);
    zero = m.vfio().vfio_pin_pages(d, 0x100000, 0, IOMMU_READ, &pages);
    // 0x1FF000 is mapped, 0x200000 is not: the first page is pinned then unwound.
    unmapped = m.vfio().vfio_pin_pages(d, 0x1FF000, 2, IOMMU_READ, &pages);
    unwound = pages.size() == 2 && pages[0] == 0 && pages[1] == 0;
    perm = m.vfio().vfio_pin_pages(d, 0x400000, 1, IOMMU_READ | IOMMU_WRITE, &pages);
    ok = m.vfio().vfio_pin_pages(d, 0x100000, 4, IOMMU_READ | IOMMU_WRITE, &pages);
    m.emul->pinned_iova = 0x100000;
    m.emul->pinned = 4;
    locked_pinned = t.mm()->locked_vm;  // no domain: the pins are accounted
    t.rlimit_memlock = 4 * 4096;
    over = m.vfio().vfio_pin_pages(d, 0x140000, 1, IOMMU_READ, &pages);
    m.vfio().vfio_unpin_pages(d, 0x100000, 4);
    m.emul->pinned = 0;
    locked_unpinned = t.mm()->locked_vm;
    m.teardown(t);
  });
  EXPECT_EQ(e2big, -E2BIG);
  EXPECT_EQ(zero, -EINVAL);
  EXPECT_EQ(unmapped, -EINVAL);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(perm, -EPERM);
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(locked_pinned, 4u);
  EXPECT_EQ(over, -ENOMEM);
  EXPECT_EQ(locked_unpinned, 0u);
}

TEST(VfioEmulated, C_101_V1ContainersMayNotPin) {
  Machine m;
  int ret = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    std::vector<uint64_t> pages;
    ret = m.vfio().vfio_pin_pages(&m.emul->vdev, 0x100000, 1, IOMMU_READ, &pages);
    m.teardown(t);
  });
  EXPECT_EQ(ret, -EACCES);
}

TEST(VfioEmulated, C_107_DmaRwPermissionsSpansAndOtherProcesses) {
  Machine m;
  int w_ro = 0, r_wo = 0, unmapped = 0, span = -1, other = 0;
  uint8_t back[8] = {};
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(3 * 4096, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 4096, RW), 0);
    EXPECT_EQ(m.map_dma(t, s.container, buf + 4096, 0x101000, 4096, RW), 0);  // adjacent
    EXPECT_EQ(m.map_dma(t, s.container, buf + 8192, 0x200000, 4096, VFIO_DMA_MAP_FLAG_READ), 0);
    auto* d = &m.emul->vdev;
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    w_ro = m.vfio().vfio_dma_rw(d, 0x200000, data, 8, true);
    unmapped = m.vfio().vfio_dma_rw(d, 0x300000, data, 8, false);
    span = m.vfio().vfio_dma_rw(d, 0x100FFC, data, 8, true);  // 4 bytes in each mapping
    m.vfio().vfio_dma_rw(d, 0x100FFC, back, 8, false);
    Task& intruder = m.task("intruder");
    {
      CurrentScope cs(intruder);
      other = m.vfio().vfio_dma_rw(d, 0x100000, data, 8, false);
    }
    (void)r_wo;
    m.teardown(t);
  });
  EXPECT_EQ(w_ro, -EPERM);
  EXPECT_EQ(unmapped, -EINVAL);
  EXPECT_EQ(span, 0);
  EXPECT_EQ(back[0], 1);
  EXPECT_EQ(back[7], 8);
  EXPECT_EQ(other, -EFAULT);
}

TEST(VfioEmulated, UnmapOfAPinnedMappingNotifiesTheDriverFirst) {
  Machine m;
  long ret = -1;
  int calls = 0;
  uint64_t unmapped_size = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.pin(0x180000, 2), 2);
    const auto u = m.unmap_dma(t, s.container, 0x100000, 1 << 20);
    ret = u.ret;
    unmapped_size = u.size;
    calls = m.emul->unmap_calls;
    m.teardown(t);
  });
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(calls, 1);  // asked once; it unpinned; the walk started again and removed the dma
  EXPECT_EQ(unmapped_size, 1u << 20);
  EXPECT_TRUE(m.kernel().leaks().empty());
}


TEST(VfioDirty, C_94_C_95_C_97_PinnedAndWrittenPagesAreReportedAndReset) {
  Machine m;
  long none = 0, both = 0, start = -1, start2 = -1, stop0 = -1, before_start = 0, pg8k = 0, bisect = 0, small = 0;
  uint64_t first = 0, second = 0, third = 0, fourth = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);  // an mdev-only container: pinned scope
    const uint64_t buf = t.mmap_anonymous(64 * 4096, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 16 * 4096, RW), 0);  // A: 16 pages
    none = m.dirty(t, s.container, 0);
    both = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
    stop0 = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);  // STOP without START
    before_start = m.get_bitmap(t, s.container, 0x100000, 16 * 4096).first;
    start = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
    start2 = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
    pg8k = m.get_bitmap(t, s.container, 0x100000, 16 * 4096, 8192).first;
    bisect = m.get_bitmap(t, s.container, 0x101000, 15 * 4096).first;
    small = m.get_bitmap(t, s.container, 0x100000, 16 * 4096, 4096, 8 + 39).first;
    std::vector<uint64_t> pages;
    EXPECT_EQ(m.vfio().vfio_pin_pages(&m.emul->vdev, 0x103000, 1, IOMMU_READ, &pages), 1);  // page 3
    uint32_t v = 7;
    EXPECT_EQ(m.vfio().vfio_dma_rw(&m.emul->vdev, 0x105000, &v, 4, true), 0);  // page 5
    first = m.get_bitmap(t, s.container, 0x100000, 16 * 4096).second;
    second = m.get_bitmap(t, s.container, 0x100000, 16 * 4096).second;  // page 3 is still pinned
    m.vfio().vfio_unpin_pages(&m.emul->vdev, 0x103000, 1);
    third = m.get_bitmap(t, s.container, 0x100000, 16 * 4096).second;  // re-set at the last report
    fourth = m.get_bitmap(t, s.container, 0x100000, 16 * 4096).second;
    m.teardown(t);
  });
  EXPECT_EQ(none, -EINVAL);
  EXPECT_EQ(both, -EINVAL);
  EXPECT_EQ(stop0, 0);
  EXPECT_EQ(before_start, -EINVAL);
  EXPECT_EQ(start, 0);
  EXPECT_EQ(start2, 0);
  EXPECT_EQ(pg8k, -EINVAL);
  EXPECT_EQ(bisect, -EINVAL);
  EXPECT_EQ(small, -EINVAL);
  EXPECT_EQ(first, (1ULL << 3) | (1ULL << 5));
  EXPECT_EQ(second, 1ULL << 3);
  EXPECT_EQ(third, 1ULL << 3);
  EXPECT_EQ(fourth, 0u);
}
