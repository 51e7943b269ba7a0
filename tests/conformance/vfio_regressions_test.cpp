// §5.12 race and refcount regressions kept as permanent tests (vfio-core.md), with the emulated-
// IOMMU test driver of emulated_machine.h: C-134 (device registration with type1 strictly paired
// with open and close), C-136 (an injected vfio_create_group failure leaks nothing), C-137 (the
// 6.1.y bitmap unwind of DIRTY_PAGES START), C-143 (a mapping that ends at 2^64, v6.1 and
// mainline).
#include "tests/conformance/emulated_machine.h"

#include "vfio/linux/lib/fault-inject.h"
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

constexpr uint64_t kTop = 0xfffffffffffff000ULL;  // the last page below 2^64

vfio_iommu* type1_of(Task& t, int container) {  // the container's vfio_iommu (white-box checks)
  file* f = t.fget(container);
  auto* c = static_cast<vfio_container*>(f->private_data);
  fput(f);
  return static_cast<vfio_iommu*>(c->iommu_data);
}

size_t dmas(vfio_iommu* iommu) {
  size_t n = 0;
  for (vfio_dma* d : dma_walk(iommu->dma_list)) n += d != nullptr;
  return n;
}

}  // namespace

// v6.1: iova + size wraps to 0 in every rb-tree helper, so a mapping of the last page escapes
// them: a second identical MAP succeeds (a second vfio_dma at the same iova), a ranged UNMAP finds
// nothing, and UNMAP_ALL only reaches it by walking on from a lower mapping it found first. Both
// dmas stay accounted (DMA_AVAIL) and are freed with the container.
TEST(VfioRegressions, C_143_MappingEndingAt2To64EscapesTheV61Lookups) {
  Machine m;
  long map1 = -1, map2 = -1, overflow = 0;
  Machine::Unmapped ranged{}, all{};
  uint32_t avail_start = 0, avail_two = 0, avail_after = 0;
  size_t nodes = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    avail_start = m.dma_avail(t, s.container);
    map1 = m.map_dma(t, s.container, buf, kTop, 0x1000, RW);
    map2 = m.map_dma(t, s.container, buf, kTop, 0x1000, RW);
    avail_two = m.dma_avail(t, s.container);
    nodes = dmas(type1_of(t, s.container));
    ranged = m.unmap_dma(t, s.container, kTop, 0x1000);
    all = m.unmap_dma(t, s.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
    avail_after = m.dma_avail(t, s.container);
    overflow = m.map_dma(t, s.container, buf, kTop, 0x2000, RW);  // really wraps: refused
    m.teardown(t);
  });
  EXPECT_EQ(map1, 0);
  EXPECT_EQ(map2, 0) << "v6.1 misses the overlap (mainline: EEXIST)";
  EXPECT_EQ(avail_two, avail_start - 2);
  EXPECT_EQ(nodes, 2u) << "two vfio_dma at the same iova, neither lost";
  EXPECT_EQ(ranged.ret, 0);
  EXPECT_EQ(ranged.size, 0u) << "nothing removed";
  EXPECT_EQ(all.ret, 0);
  EXPECT_EQ(all.size, 0u) << "no lower mapping to start the walk from";
  EXPECT_EQ(avail_after, avail_start - 2);
  EXPECT_EQ(overflow, -EINVAL);
  EXPECT_TRUE(m.kernel().leaks().empty()) << "the container's release frees both";
}

TEST(VfioRegressions, C_143_UnmapAllReachesTheTopPageFromALowerMapping) {
  Machine m;
  Machine::Unmapped all{};
  uint32_t avail_start = 0, avail_after = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    avail_start = m.dma_avail(t, s.container);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 0x1000, RW), 0);
    EXPECT_EQ(m.map_dma(t, s.container, buf, kTop, 0x1000, RW), 0);
    all = m.unmap_dma(t, s.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
    avail_after = m.dma_avail(t, s.container);
    m.teardown(t);
  });
  EXPECT_EQ(all.ret, 0);
  EXPECT_EQ(all.size, 0x2000u) << "found the lower mapping, then walked on to the top page";
  EXPECT_EQ(avail_after, avail_start);
}

TEST(VfioRegressions, C_143_MainlineHandlesTheAddressableLimit) {
  Machine m(support::one_engine().kernel({{"vfio_iommu_type1", {{"addressable_limit_fix", true}}}}));
  long map1 = -1, map2 = 0, map_over = 0;
  Machine::Unmapped ranged{}, all{}, unmap_over{};
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    map1 = m.map_dma(t, s.container, buf, kTop, 0x1000, RW);
    map2 = m.map_dma(t, s.container, buf, kTop, 0x1000, RW);
    ranged = m.unmap_dma(t, s.container, kTop, 0x1000);
    EXPECT_EQ(m.map_dma(t, s.container, buf, kTop, 0x1000, RW), 0);
    all = m.unmap_dma(t, s.container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
    map_over = m.map_dma(t, s.container, buf, kTop, 0x2000, RW);
    unmap_over = m.unmap_dma(t, s.container, kTop, 0x2000);
    m.teardown(t);
  });
  EXPECT_EQ(map1, 0);
  EXPECT_EQ(map2, -EEXIST);
  EXPECT_EQ(ranged.ret, 0);
  EXPECT_EQ(ranged.size, 0x1000u);
  EXPECT_EQ(all.ret, 0);
  EXPECT_EQ(all.size, 0x1000u);
  EXPECT_EQ(map_over, -EOVERFLOW);
  EXPECT_EQ(unmap_over.ret, -EOVERFLOW);
}

// C-134: a driver with dma_unmap and no close_device is in type1's device_list exactly while its
// device is open: the unmap notifier reaches it then and only then, and a failed open_device
// leaves nothing registered.
namespace {
int b_unmaps = 0;
bool b_fail_open = false;
}  // namespace

TEST(VfioRegressions, C_134_DeviceRegisteredWithType1ExactlyWhileOpen) {
  Machine m;
  std::vector<int> while_open, while_closed;
  long failed_open = 0;
  int after_failed = -1;
  vfio_device_ops bops;
  bops.name = "c134";
  bops.release = [](vfio_device& d) { Vfio::vfio_free_device(&d); };
  bops.open_device = [](vfio_device&) { return b_fail_open ? -EIO : 0; };
  bops.dma_unmap = [](vfio_device&, uint64_t, uint64_t) { ++b_unmaps; };  // and no close_device
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    int err = 0;
    auto* b = m.vfio().vfio_alloc_device<emul_device>(m.emul_parent("emulB"), &bops, &err);
    ASSERT_EQ(m.vfio().vfio_register_emulated_iommu_dev(&b->vdev), 0);
    const int bgroup = static_cast<int>(m.sys().open(t, "/dev/vfio/" + b->vdev.group->name));
    ASSERT_EQ(m.set_container(t, bgroup, s.container), 0);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    // A pins a page of the mapping, and the UNMAP asks every registered device to unpin.
    auto notify_count = [&] {
      EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
      EXPECT_EQ(m.pin(0x100000, 1), 1);
      const int before = b_unmaps;
      EXPECT_EQ(m.unmap_dma(t, s.container, 0x100000, 1 << 20).size, 1u << 20);
      return b_unmaps - before;
    };
    for (int i = 0; i < 3; ++i) {
      const long fd = m.get_device_fd(t, bgroup, "emulB");
      EXPECT_GE(fd, 0);
      while_open.push_back(notify_count());
      m.sys().close(t, static_cast<int>(fd));  // the release runs at the return to userspace
      while_closed.push_back(notify_count());
    }
    b_fail_open = true;
    failed_open = m.get_device_fd(t, bgroup, "emulB");
    after_failed = notify_count();
    m.teardown(t);
    m.vfio().vfio_unregister_group_dev(&b->vdev);
    m.vfio().vfio_put_device(&b->vdev);
  });
  EXPECT_EQ(while_open, (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(while_closed, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(failed_open, -EIO);
  EXPECT_EQ(after_failed, 0);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

// C-136 (injected failure): vfio_create_group failing inside vfio_register_emulated_iommu_dev
// frees the fake iommu_group and its id; the next registration gets the same id.
TEST(VfioRegressions, C_136_InjectedGroupAllocFailureLeaksNothing) {
  Machine m;
  int failed = 0, ok = -1;
  size_t groups_before = 0, groups_failed = 1;
  int id_ok = -1, id_next = -2;
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    groups_before = pci.iommu_groups().groups().size();
    int err = 0;
    auto* d = m.vfio().vfio_alloc_device<emul_device>(m.emul_parent("emul0"), &m.ops, &err);
    FaultInjection::instance().arm(fault_site::kVfioGroupAlloc, 1);
    failed = m.vfio().vfio_register_emulated_iommu_dev(&d->vdev);
    groups_failed = pci.iommu_groups().groups().size();
    ok = m.vfio().vfio_register_emulated_iommu_dev(&d->vdev);
    id_ok = d->vdev.group->group->id;
    m.vfio().vfio_unregister_group_dev(&d->vdev);
    m.vfio().vfio_put_device(&d->vdev);
    auto* e = m.vfio().vfio_alloc_device<emul_device>(m.emul_parent("emul1"), &m.ops, &err);
    EXPECT_EQ(m.vfio().vfio_register_emulated_iommu_dev(&e->vdev), 0);
    id_next = e->vdev.group->group->id;
    m.vfio().vfio_unregister_group_dev(&e->vdev);
    m.vfio().vfio_put_device(&e->vdev);
  });
  FaultInjection::instance().reset();
  EXPECT_EQ(failed, -ENOMEM);
  EXPECT_EQ(groups_failed, groups_before) << "the fake iommu_group went with the failure";
  EXPECT_EQ(ok, 0);
  EXPECT_EQ(id_next, id_ok);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

// C-137 (6.1.y "fix error unwind in vfio_dma_bitmap_alloc_all"): the third dma's bitmap fails
// during START: START is -ENOMEM, the first two dmas' bitmaps are freed, tracking stays off; a
// START after that works.
TEST(VfioRegressions, C_137_DirtyStartUnwindsTheBitmaps) {
  Machine m;
  long start = 0, get_off = 0, start_again = -1;
  std::vector<bool> have_bitmap;
  bool tracking = true;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000 * (i + 1), 0x10000, RW), 0);
    FaultInjection::instance().arm(fault_site::kVfioDmaBitmapAlloc, 3);
    start = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
    vfio_iommu* iommu = type1_of(t, s.container);
    tracking = iommu->dirty_page_tracking;
    for (vfio_dma* d : dma_walk(iommu->dma_list)) have_bitmap.push_back(!d->bitmap.empty());
    get_off = m.get_bitmap(t, s.container, 0x100000, 0x10000).first;
    start_again = m.dirty(t, s.container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
    m.teardown(t);
  });
  FaultInjection::instance().reset();
  EXPECT_EQ(start, -ENOMEM);
  EXPECT_FALSE(tracking);
  EXPECT_EQ(have_bitmap, (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(get_off, -EINVAL) << "tracking is off";
  EXPECT_EQ(start_again, 0);
}

// C-133 ("Simplify bus_type determination"): the group's only device is hot-removed while
// SET_CONTAINER attaches the group. Four races at different offsets: the attach either completes
// first (0; the removal then force-detaches the group) or finds the group already without its
// iommu_group (-ENODEV; -EIO if type1 saw an empty group) — never a freed bus or device; the
// container keeps working for the group that stays, and everything is freed at the end.
TEST(VfioRegressions, C_133_RemovalRacingAttachNeverUsesAFreedDevice) {
  auto bdf = [](int bus, int device) { return Bdf{static_cast<uint8_t>(bus), static_cast<uint8_t>(device), 0}.str(); };
  support::MachineBuilder b;
  for (int bus = 1; bus <= 5; ++bus) b.engine(bdf(0, bus), bdf(bus, 0));
  Machine m(b);
  const int64_t offsets_ns[] = {-3000, 0, 300, 3000};  // removal start relative to the attach
  std::vector<long> results(4, 1);
  long map_after = -1;
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    std::vector<std::string> groups;
    for (int bus = 1; bus <= 5; ++bus) {
      m.to_vfio_pci(bdf(bus, 0));
      groups.push_back(m.group_path(bdf(bus, 0)));
    }
    Task& t = pci.kernel().task("qemu");
    std::vector<int> g(5);
    const int c = static_cast<int>(m.sys().open(t, "/dev/vfio/vfio"));
    for (int i = 0; i < 5; ++i) g[i] = static_cast<int>(m.sys().open(t, groups[i]));
    ASSERT_EQ(m.set_container(t, g[0], c), 0);
    ASSERT_EQ(m.sys().ioctl(t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    Task& admin = pci.kernel().task("admin");
    sc_core::sc_event done;
    int finished = 0;
    for (int k = 0; k < 4; ++k) {
      const sc_core::sc_time base = sc_core::sc_time_stamp() + sc_core::sc_time(1, sc_core::SC_MS) * (k + 1);
      const sc_core::sc_time attach_at = base + sc_core::sc_time(static_cast<double>(std::max<int64_t>(0, -offsets_ns[k])), sc_core::SC_NS);
      const sc_core::sc_time remove_at = base + sc_core::sc_time(static_cast<double>(std::max<int64_t>(0, offsets_ns[k])), sc_core::SC_NS);
      const std::string path = "/sys/bus/pci/devices/" + bdf(k + 2, 0) + "/remove";
      sc_core::sc_spawn([&, k, attach_at] {
        sc_core::wait(attach_at - sc_core::sc_time_stamp());
        results[k] = m.set_container(t, g[k + 1], c);
        if (++finished == 8) done.notify();
      });
      sc_core::sc_spawn([&, remove_at, path] {
        sc_core::wait(remove_at - sc_core::sc_time_stamp());
        CurrentScope cs(admin);
        EXPECT_EQ(pci.sysfs().write(path, "1").err, 1);  // the bytes written
        if (++finished == 8) done.notify();
      });
    }
    sc_core::wait(done);
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    map_after = m.map_dma(t, c, buf, 0x100000, 1 << 20, RW);
    t.close_all();
    { CurrentScope cs(t); }
    m.unbind("0000:01:00.0");
  });
  for (size_t k = 0; k < results.size(); ++k)
    EXPECT_TRUE(results[k] == 0 || results[k] == -ENODEV || results[k] == -EIO) << "race " << k << ": " << results[k];
  EXPECT_NE(results.front(), 0) << "removed well before the attach";
  EXPECT_EQ(results.back(), 0) << "attached well before the removal";
  EXPECT_EQ(map_after, 0) << "the surviving group's container still maps";
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}
