// DMA isolation on type1's error paths (the reliability issue's audit): a MAP_DMA that fails
// part-way must leave no IOVA of it reachable in any IOMMU domain, no page charged and no
// vfio_dma behind. vfio_pin_map_dma() marks the dma IOMMU-mapped before its error clean-up so that
// vfio_remove_dma() unmaps the runs it did map; the port once returned early and left them.
#include "tests/conformance/emulated_machine.h"

#include "vfio/linux/lib/fault-inject.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

// 01:00.0 on vfio-pci, its group (1) in a fresh type1v2 container.
Machine::VfioFds bind_physical(Machine& m, Task& t) {
  m.to_vfio_pci("0000:01:00.0");
  return m.open_container(t, "/dev/vfio/1");
}

// What the IOMMU translates for the device's group at each page of [iova, iova + size).
size_t translated_pages(Machine& m, uint64_t iova, uint64_t size) {
  IommuCore& core = *m.pci().iommu();
  iommu_group* g = core.iommu_group_get(&m.dev("0000:01:00.0").dev);
  size_t n = 0;
  for (uint64_t off = 0; g && g->domain && off < size; off += 4096) n += core.iommu_iova_to_phys(g->domain, iova + off) != 0;
  if (g) core.iommu_group_put(g);
  return n;
}

}  // namespace

// RLIMIT_MEMLOCK is hit on the second pin batch: the first 2 MiB were pinned and mapped when
// the MAP fails with ENOMEM; afterwards none of the 4 MiB translates and nothing is charged.
TEST(VfioIsolation, MapFailingAtTheMemlockLimitLeavesNothingMapped) {
  Machine m;
  long map = 0, retry = -1;
  size_t mapped_after_failure = 1, mapped_after_retry = 0;
  uint64_t locked = 1;
  uint32_t avail_before = 0, avail_after = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    Machine::VfioFds p = bind_physical(m, t);
    const uint64_t buf = t.mmap_anonymous(4 << 20, false);
    avail_before = m.dma_avail(t, p.container);
    t.rlimit_memlock = 3 << 20;
    map = m.map_dma(t, p.container, buf, 0, 4 << 20, RW);
    mapped_after_failure = translated_pages(m, 0, 4 << 20);
    locked = t.mm()->locked_vm;
    avail_after = m.dma_avail(t, p.container);
    t.rlimit_memlock = 8 << 20;
    retry = m.map_dma(t, p.container, buf, 0, 4 << 20, RW);  // the range is free again
    mapped_after_retry = translated_pages(m, 0, 4 << 20);
    t.close_all();
    { CurrentScope s(t); }
    m.kernel().shutdown();
  });
  EXPECT_EQ(map, -ENOMEM);
  EXPECT_EQ(mapped_after_failure, 0u) << "pages of a failed MAP_DMA stay reachable by the device";
  EXPECT_EQ(locked, 0u);
  EXPECT_EQ(avail_after, avail_before);
  EXPECT_EQ(retry, 0);
  EXPECT_EQ(mapped_after_retry, 1024u);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}

// A page of the buffer that is not there (a hole right after the first batch) fails the pin
// with EFAULT after a whole batch was mapped: the same clean-up applies.
TEST(VfioIsolation, MapFailingOnAHoleInTheBufferLeavesNothingMapped) {
  Machine m;
  long map = 0;
  size_t mapped = 1;
  uint64_t locked = 1;
  sctest::run_in_thread([&] {
    m.boot();
    Task& t = m.task("qemu");
    Machine::VfioFds p = bind_physical(m, t);
    // Areas go downwards: [buf, +2 MiB) then a page that is unmapped again, then the rest.
    t.mmap_anonymous(2 << 20, false);
    const uint64_t hole = t.mmap_anonymous(4096, false);
    const uint64_t buf = t.mmap_anonymous(2 << 20, false);
    EXPECT_EQ(buf + (2 << 20), hole);
    EXPECT_EQ(t.munmap(hole, 4096), 0);
    map = m.map_dma(t, p.container, buf, 0, 4 << 20, RW);
    mapped = translated_pages(m, 0, 4 << 20);
    locked = t.mm()->locked_vm;
    t.close_all();
    { CurrentScope s(t); }
    m.kernel().shutdown();
  });
  EXPECT_EQ(map, -EFAULT);
  EXPECT_EQ(mapped, 0u);
  EXPECT_EQ(locked, 0u);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}

// Device lifetime: every struct device the PCI core made is freed with the platform, VFs included
// (a VF holds its PF until the VF itself goes), and a device removed while another thread holds a
// reference is freed only at that thread's put.
TEST(DeviceLifetime, EveryPciDevIsFreedVfsAndHeldReferencesIncluded) {
  const size_t before = live_struct_devices();
  size_t with_vfs = 0, held_after_remove = 0, after_put = 0;
  int numvfs = 0;
  std::string name_after_remove;
  {
    Machine m(support::MachineBuilder().engine("00:01.0", "01:00.0", {{"sriov", {{"total_vfs", 2}}}}));
    sctest::run_in_thread([&] {
      m.boot();
      PciPlatform& pci = m.pci();
      numvfs = pci.sysfs().write("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", "2").err;
      with_vfs = live_struct_devices();
      pci_dev* vf = pci.core().find("0000:01:00.2");
      pci_dev_get(vf);
      pci.sysfs().write("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", "0");  // the VFs are removed
      held_after_remove = live_struct_devices();
      name_after_remove = vf->name();  // still valid memory: our reference keeps it
      pci_dev_put(vf);
      after_put = live_struct_devices();
      pci.sysfs().write("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", "2");  // and again, left enabled
    });
  }
  EXPECT_EQ(numvfs, 1);  // bytes written
  EXPECT_EQ(with_vfs, before + 5);  // host bridge (pci0000:00), root port, PF, two VFs
  EXPECT_EQ(held_after_remove, before + 4);
  EXPECT_EQ(name_after_remove, "0000:01:00.2");
  EXPECT_EQ(after_put, before + 3);
  EXPECT_EQ(live_struct_devices(), before) << "struct devices left after the platform went";
}

// A VF removed through its own sysfs `remove` is not removed again when its PF disables SR-IOV
// (the lifecycle fuzzer found the second removal freeing it twice); every device is freed at the end.
TEST(DeviceLifetime, AVfRemovedOnItsOwnIsNotRemovedAgainBySriovDisable) {
  const size_t before = live_struct_devices();
  int removed = 0, disabled = 0;
  size_t after_disable = 0;
  {
    Machine m(support::MachineBuilder().engine("00:01.0", "01:00.0", {{"sriov", {{"total_vfs", 2}}}}));
    sctest::run_in_thread([&] {
      m.boot();
      Sysfs& fs = m.pci().sysfs();
      fs.write("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", "2");
      removed = fs.write("/sys/bus/pci/devices/0000:01:00.1/remove", "1").err;
      disabled = fs.write("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", "0").err;
      after_disable = live_struct_devices();
    });
  }
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(disabled, 1);
  EXPECT_EQ(after_disable, before + 3);  // the host bridge, the root port and the PF
  EXPECT_EQ(live_struct_devices(), before);
}
