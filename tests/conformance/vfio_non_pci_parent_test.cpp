// A vfio_device whose parent is not a PCI device (a device of a test bus, as an mdev or a css
// subchannel is): registered through vfio_register_emulated_iommu_dev, it gets its own class
// device "vfio<N>" under that parent, its emulated group lists the parent by name, userspace opens
// it through the group, the container and GET_DEVICE_FD by the parent's name, and unregistering
// and the last put leave no struct device, vfio object or iommu object behind.
#include "tests/conformance/emulated_machine.h"
#include "tests/support/test_bus.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

TEST(VfioNonPciParent, EmulatedDeviceOnAnotherBusOpensPinsAndGoesWithoutLeaks) {
  const size_t before = live_struct_devices();
  testbus::TestBus tb;
  std::string vfio_name;
  bool registered = false, under_parent = false, unregistered_after = false;
  unsigned parent_refs_registered = 0, parent_refs_after = 0;
  size_t devices_registered = 0, devices_after = 0;
  std::vector<std::string> group_members;
  long device_fd = -1, pinned = 0;
  int unmap_calls = 0;
  std::vector<std::string> leaks;
  {
    Machine m;
    sctest::run_in_thread([&] {
      m.boot();
      PciPlatform& pci = m.pci();
      device* parent = tb.add("b1f6ec3e-mdev");
      int err = 0;
      m.emul = m.vfio().vfio_alloc_device<emul_device>(parent, &m.ops, &err);
      ASSERT_NE(m.emul, nullptr);
      ASSERT_EQ(m.vfio().vfio_register_emulated_iommu_dev(&m.emul->vdev), 0);
      struct device* vdev = &m.emul->vdev.device;
      registered = device_is_registered(vdev);
      vfio_name = dev_name(vdev);
      under_parent = vdev->parent == parent;
      parent_refs_registered = kref_read(parent->kobj);
      devices_registered = live_struct_devices();
      group_members =
          pci.sysfs().list("/sys/kernel/iommu_groups/" + std::to_string(m.emul->vdev.group->group->id) + "/devices").entries;

      Task& t = pci.kernel().task("qemu");
      auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
      device_fd = s.device;
      const uint64_t buf = t.mmap_anonymous(1 << 20, false);
      EXPECT_EQ(m.map_dma(t, s.container, buf, 0x100000, 1 << 20, RW), 0);
      pinned = m.pin(0x100000, 2);
      EXPECT_EQ(m.unmap_dma(t, s.container, 0x100000, 1 << 20).size, 1u << 20);  // the driver unpins
      unmap_calls = m.emul->unmap_calls;

      t.close_all();
      { CurrentScope cs(t); }
      m.vfio().vfio_unregister_group_dev(&m.emul->vdev);
      unregistered_after = !device_is_registered(vdev);
      parent_refs_after = kref_read(parent->kobj);
      m.vfio().vfio_put_device(&m.emul->vdev);
      devices_after = live_struct_devices();
      device_unregister(parent);
      leaks = pci.kernel().leaks();
    });
  }
  EXPECT_TRUE(registered);
  EXPECT_EQ(vfio_name, "vfio0");
  EXPECT_TRUE(under_parent);
  EXPECT_EQ(parent_refs_registered, 3u) << "its own, the bus's list and the registered vfio device's";
  EXPECT_EQ(group_members, std::vector<std::string>{"b1f6ec3e-mdev"});
  EXPECT_GE(device_fd, 0);
  EXPECT_EQ(pinned, 2);
  EXPECT_EQ(unmap_calls, 1);
  EXPECT_TRUE(unregistered_after);
  EXPECT_EQ(parent_refs_after, 2u);
  EXPECT_EQ(devices_after + 1, devices_registered) << "the vfio device's struct device went with the last put";
  for (const auto& l : leaks) ADD_FAILURE() << l;
  EXPECT_EQ(tb.freed, 1);
  EXPECT_EQ(live_struct_devices(), before);
}
