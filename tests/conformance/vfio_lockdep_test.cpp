// The KVM association and the two lock-order inversions a faithful 6.1 port keeps (vfio-core.md
// §1.9, §5.4, §5.12): C-55 (group->kvm reaches device->kvm at first open only, and is cleared at
// last close), C-140 (open_device taking kvm->lock under group_lock, against kvm_device_release
// calling vfio_file_set_kvm under kvm->lock: an ABBA the lock checker reports), C-141 (type1's
// unmap notification, device_list_lock -> iommu->lock, against register_device's iommu->lock ->
// device_list_lock: reported, and the UNMAP completes).
#include "tests/conformance/emulated_machine.h"

#include "vfio/linux/virt/kvm/kvm_host.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

kvm* seen_at_open = nullptr;
int opens = 0;
bool take_kvm_lock = false;

file* group_file(Task& t, int fd) {
  file* f = t.fget(fd);
  fput(f);
  return f;
}


}  // namespace

TEST(VfioKvm, C_55_DeviceTakesTheGroupsKvmAtFirstOpenOnly) {
  Machine m;
  kvm k("vm0"), k2("vm1");
  kvm *at_open = &k2, *while_open = nullptr, *after_close = &k, *group_after = nullptr;
  m.ops.open_device = [](vfio_device& d) {
    seen_at_open = d.kvm;
    ++opens;
    return 0;
  };
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);  // opened once without a VM
    m.sys().close(t, s.device);
    m.vfio().vfio_file_set_kvm(group_file(t, s.group), &k);
    const long fd = m.get_device_fd(t, s.group, "emul0");
    at_open = seen_at_open;
    m.vfio().vfio_file_set_kvm(group_file(t, s.group), &k2);  // while open: the device keeps k
    while_open = m.emul->vdev.kvm;
    m.sys().close(t, static_cast<int>(fd));
    after_close = m.emul->vdev.kvm;
    group_after = m.emul->vdev.group->kvm;
    m.vfio().vfio_file_set_kvm(group_file(t, s.group), nullptr);
    m.teardown(t);
  });
  EXPECT_EQ(opens, 2);
  EXPECT_EQ(at_open, &k);
  EXPECT_EQ(while_open, &k);
  EXPECT_EQ(after_close, nullptr);
  EXPECT_EQ(group_after, &k2);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

TEST(VfioLockdep, C_140_KvmLockAgainstGroupLockIsReported) {
  Machine m;
  kvm k;
  uint64_t before = 0, after = 0;
  bool opened = false;
  m.ops.open_device = [](vfio_device& d) {
    if (take_kvm_lock && d.kvm) {  // as vfio-ap does
      d.kvm->lock.lock();
      d.kvm->lock.unlock();
    }
    return 0;
  };
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    m.sys().close(t, s.device);
    before = LockChecker::instance().inversions();
    take_kvm_lock = true;
    {  // the KVM-VFIO device: kvm_device_release() holds kvm->lock around kvm_vfio_destroy()
      mutex_guard g(k.lock);
      m.vfio().vfio_file_set_kvm(group_file(t, s.group), &k);
    }
    // Sequential here, so nothing hangs; run concurrently the two orders deadlock.
    const long fd = m.get_device_fd(t, s.group, "emul0");
    opened = fd >= 0;
    after = LockChecker::instance().inversions();
    m.vfio().vfio_file_set_kvm(group_file(t, s.group), nullptr);
    m.teardown(t);
  });
  EXPECT_TRUE(opened);
  EXPECT_EQ(after, before + 1) << "the ABBA is reported once";
  const auto& edges = LockChecker::instance().edges();
  EXPECT_TRUE(edges.count({"kvm->lock", "group->group_lock"}));
  EXPECT_TRUE(edges.count({"group->group_lock", "kvm->lock"}));
}

TEST(VfioLockdep, C_141_UnmapNotificationInvertsTheDeviceListLockAndIsReported) {
  Machine m;
  uint64_t before = 0, after = 0;
  Machine::Unmapped u{};
  int unmap_calls = 0;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);  // register_device: iommu->lock -> device_list_lock
    const uint64_t buf = t.mmap_anonymous(1 << 20, false);
    EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
    EXPECT_EQ(m.pin(0x100000, 2), 2);
    before = LockChecker::instance().inversions();
    u = m.unmap_dma(t, s.container, 0x100000, 1 << 20);  // dma_unmap -> vfio_unpin_pages under device_list_lock
    after = LockChecker::instance().inversions();
    unmap_calls = m.emul->unmap_calls;
    m.teardown(t);
  });
  EXPECT_EQ(u.ret, 0);
  EXPECT_EQ(u.size, 1u << 20);
  EXPECT_EQ(unmap_calls, 1);
  EXPECT_EQ(after, before + 1);
  const auto& edges = LockChecker::instance().edges();
  EXPECT_TRUE(edges.count({"iommu->lock", "iommu->device_list_lock"}));
  EXPECT_TRUE(edges.count({"iommu->device_list_lock", "iommu->lock"}));
  EXPECT_TRUE(m.kernel().leaks().empty());
}
