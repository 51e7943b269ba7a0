// SR-IOV end to end: the PF's capability in the model, sriov_init and IOV resource assignment at
// boot, sriov_numvfs through sysfs (pci_enable_sriov / pci_disable_sriov and their errors), VFs
// as functions with their own requester IDs, config space and BARs, and IOMMU groups for them
// (topology T11 of pci-ccw.md A3.3: PF and each VF in a group of its own).
#include <linux/pci_regs.h>

#include <set>

#include <gtest/gtest.h>

#include "models/pci/dma_engine_regs.h"
#include "tests/pci/platform_machine.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using nlohmann::json;
using pcitest::Groups;

namespace {

json pf(unsigned total_vfs, json extra = json::object()) {
  json e = {{"bdf", "01:00.0"}, {"model", "dma-engine"}, {"sriov", {{"total_vfs", total_vfs}}}};
  e["sriov"].update(extra);
  return e;
}

struct Machine : pcitest::PlatformMachine {
  explicit Machine(const json& endpoint, bool rp_acs = true)
      : PlatformMachine(json{{"root_ports", {{{"bdf", "00:01.0"}, {"acs", rp_acs}, {"children", {endpoint}}}}}}) {}
  kernel::SysfsResult write(const std::string& path, const std::string& v) { return pci->sysfs().write(path, v); }
  std::string read(const std::string& path) { return pci->sysfs().read(path).value; }
  uint32_t config(uint8_t bus, uint8_t devfn, int where, int size) {
    return pci->core().bus_read_config(bus, devfn, where, size);
  }
};

const std::string kPf = "/sys/bus/pci/devices/0000:01:00.0/";

}  // namespace

TEST(Sriov, BootSizesTheVfBarsIntoIovResourcesAndNoVfExistsYet) {
  Machine m(pf(7, {{"vf_bars", {"16KiB", "64KiB"}}}));
  sctest::run_in_thread([&] {
    m.boot();
    kernel::pci_dev* dev = m.pci->core().find("0000:01:00.0");
    ASSERT_NE(dev, nullptr);
    ASSERT_TRUE(dev->is_physfn);
    EXPECT_EQ(dev->sriov->total_VFs, 7);
    EXPECT_EQ(dev->sriov->offset, 1);
    EXPECT_EQ(dev->sriov->stride, 1);
    EXPECT_EQ(dev->sriov->vf_device, pci::dmae::kDeviceIdVf);
    const auto& r0 = dev->res[kernel::PCI_IOV_RESOURCES];
    const auto& r1 = dev->res[kernel::PCI_IOV_RESOURCES + 1];
    EXPECT_EQ(r0.size(), 7u * 16 * 1024);
    EXPECT_EQ(r1.size(), 7u * 64 * 1024);
    EXPECT_EQ(r0.start % (16 * 1024), 0u);
    EXPECT_EQ(r1.start % (64 * 1024), 0u);
    // Programmed into the capability's VF BAR registers, inside the root port's window.
    const uint32_t pos = dev->sriov->pos;
    EXPECT_EQ(m.config(1, 0, pos + PCI_SRIOV_BAR, 4) & ~0xFu, r0.start);
    EXPECT_EQ(m.config(1, 0, pos + PCI_SRIOV_BAR + 4, 4) & ~0xFu, r1.start);
    kernel::pci_dev* rp = m.pci->core().find("0000:00:01.0");
    EXPECT_GE(r0.start, rp->res[kernel::PCI_BRIDGE_RESOURCES + 1].start);
    EXPECT_LE(r1.end, rp->res[kernel::PCI_BRIDGE_RESOURCES + 1].end);
    EXPECT_TRUE(rp->ari_enabled);  // the PF has an ARI capability
    // No VF answers config requests before VF Enable.
    EXPECT_EQ(m.config(1, 1, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
    EXPECT_EQ(m.read(kPf + "sriov_totalvfs"), "7\n");
    EXPECT_EQ(m.read(kPf + "sriov_numvfs"), "0\n");
  });
}

TEST(Sriov, T11_EnablingVfsCreatesFunctionsWithOwnGroups) {
  Machine m(pf(7));
  sctest::run_in_thread([&] {
    m.boot();
    const auto t0 = sc_core::sc_time_stamp();
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "7\n").err, 2);
    EXPECT_GE(sc_core::sc_time_stamp() - t0, sc_core::sc_time(100, sc_core::SC_MS));  // msleep(100) after VF Enable
    EXPECT_EQ(m.read(kPf + "sriov_numvfs"), "7\n");
    kernel::pci_dev* pfdev = m.pci->core().find("0000:01:00.0");
    for (unsigned n = 1; n <= 7; ++n) {
      const std::string name = "0000:01:00." + std::to_string(n);
      kernel::pci_dev* vf = m.pci->core().find(name);
      ASSERT_NE(vf, nullptr) << name;
      EXPECT_TRUE(vf->is_virtfn);
      EXPECT_EQ(vf->physfn, pfdev);
      EXPECT_EQ(vf->vendor, pci::dmae::kVendorId);
      EXPECT_EQ(vf->device, pci::dmae::kDeviceIdVf);
      EXPECT_EQ(m.config(1, static_cast<uint8_t>(n), PCI_CLASS_REVISION, 4) >> 8, pci::dmae::kClassCode);  // it answers
      EXPECT_EQ(m.config(1, static_cast<uint8_t>(n), PCI_VENDOR_ID, 4), 0xFFFFFFFFu);  // but its IDs read 0xFFFF
      EXPECT_EQ(m.config(1, static_cast<uint8_t>(n), PCI_HEADER_TYPE, 1) & 0x80u, 0u);
      // VF n's BAR0 is slice n-1 of the PF's IOV resource; its own BAR register reads 0.
      EXPECT_EQ(vf->res[0].start, pfdev->res[kernel::PCI_IOV_RESOURCES].start + (n - 1) * 16 * 1024);
      EXPECT_EQ(m.config(1, static_cast<uint8_t>(n), PCI_BASE_ADDRESS_0, 4), 0u);
      EXPECT_EQ(m.pci->drivers().driver_of(*vf)->name, "vfiosim-dmae") << "sriov_drivers_autoprobe";
      EXPECT_EQ(m.pci->sysfs().readlink("/sys/bus/pci/devices/" + name + "/physfn").value, "../0000:01:00.0");
    }
    EXPECT_EQ(m.pci->sysfs().readlink(kPf + "virtfn6").value, "../0000:01:00.7");
    EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"01:00.1"}, {"01:00.2"}, {"01:00.3"}, {"01:00.4"},
                                  {"01:00.5"}, {"01:00.6"}, {"01:00.7"}}));
    // The VF's registers answer in VF BAR0 through the PF's VF MSE.
    kernel::pci_dev* vf3 = m.pci->core().find("0000:01:00.3");
    EXPECT_EQ(m.cpu->read(vf3->res[0].start + pci::dmae::ID, 4), pci::dmae::kIdValue);
  });
}

TEST(Sriov, NumvfsStoreErrorsAreTheKernels) {
  Machine m(pf(4));
  sctest::run_in_thread([&] {
    m.boot();
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "5").err, -ERANGE);
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "two").err, -EINVAL);
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "-1").err, -EINVAL);
    EXPECT_EQ(m.write(kPf + "sriov_totalvfs", "1").err, -EACCES);
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "2").err, 1);
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "3").err, -EBUSY);  // disable before enabling another count
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "2").err, 1);       // same count: nothing to do
    EXPECT_EQ(m.write("/sys/bus/pci/devices/0000:01:00.1/sriov_numvfs", "1").err, -ENOENT);  // a VF has none
    const auto t0 = sc_core::sc_time_stamp();
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "0").err, 1);
    EXPECT_GE(sc_core::sc_time_stamp() - t0, sc_core::sc_time(1, sc_core::SC_SEC));  // ssleep(1) in sriov_disable
    EXPECT_EQ(m.pci->core().find("0000:01:00.1"), nullptr);
    EXPECT_EQ(m.config(1, 1, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
    EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}}));
    // Without a PF driver there is nobody to call sriov_configure.
    EXPECT_EQ(m.write("/sys/bus/pci/drivers/vfiosim-dmae/unbind", "0000:01:00.0").err, 12);
    EXPECT_EQ(m.write(kPf + "sriov_numvfs", "1").err, -ENOENT);
  });
}

TEST(Sriov, UnbindingThePfDriverRemovesItsVfs) {
  Machine m(pf(3));
  sctest::run_in_thread([&] {
    m.boot();
    ASSERT_EQ(m.write(kPf + "sriov_numvfs", "3").err, 1);
    ASSERT_NE(m.pci->core().find("0000:01:00.3"), nullptr);
    EXPECT_EQ(m.write("/sys/bus/pci/drivers/vfiosim-dmae/unbind", "0000:01:00.0").err, 12);
    EXPECT_EQ(m.pci->core().find("0000:01:00.1"), nullptr);
    EXPECT_EQ(m.read(kPf + "sriov_numvfs"), "0\n");
    const auto listing = m.pci->sysfs().list("/sys/bus/pci/devices").entries;
    EXPECT_EQ(listing, (std::vector<std::string>{"0000:00:01.0", "0000:01:00.0"}));
  });
}

TEST(Sriov, AutoprobeOffLeavesVfsUnboundUntilDriverOverride) {
  Machine m(pf(2));
  sctest::run_in_thread([&] {
    m.boot();
    EXPECT_EQ(m.write(kPf + "sriov_drivers_autoprobe", "0").err, 1);
    EXPECT_EQ(m.write(kPf + "sriov_drivers_autoprobe", "maybe").err, -EINVAL);
    ASSERT_EQ(m.write(kPf + "sriov_numvfs", "2").err, 1);
    kernel::pci_dev* vf = m.pci->core().find("0000:01:00.1");
    ASSERT_NE(vf, nullptr);
    EXPECT_EQ(m.pci->drivers().driver_of(*vf), nullptr);
    // pci_device_can_probe(): an explicit bind fails too, until driver_override names the driver.
    EXPECT_EQ(m.write("/sys/bus/pci/drivers/vfiosim-dmae/bind", "0000:01:00.1").err, -ENODEV);
    EXPECT_EQ(m.write("/sys/bus/pci/devices/0000:01:00.1/driver_override", "vfiosim-dmae").err, 12);
    EXPECT_EQ(m.write("/sys/bus/pci/drivers/vfiosim-dmae/bind", "0000:01:00.1").err, 12);
    EXPECT_EQ(m.pci->drivers().driver_of(*vf)->name, "vfiosim-dmae");
  });
}

TEST(Sriov, VfsBehindARootPortWithoutAcsShareItsGroup) {
  // pci_device_group() walks up from the VF: the root port does not isolate, so every function
  // below it lands in the root port's group.
  Machine m(pf(2), false);
  sctest::run_in_thread([&] {
    m.boot();
    ASSERT_EQ(m.write(kPf + "sriov_numvfs", "2").err, 1);
    EXPECT_EQ(m.groups(), (Groups{{"00:01.0", "01:00.0", "01:00.1", "01:00.2"}}));
  });
}

TEST(Sriov, VfsPastFunction7NeedAriForwarding) {
  // First VF Offset 8: VFs at devfn 8 and 9 (device 1) exist only because the root port forwards ARI.
  Machine m(pf(2, {{"first_vf_offset", 8}}));
  sctest::run_in_thread([&] {
    m.boot();
    ASSERT_EQ(m.write(kPf + "sriov_numvfs", "2").err, 1);
    ASSERT_NE(m.pci->core().find("0000:01:01.1"), nullptr);
    EXPECT_EQ(m.config(1, 9, PCI_CLASS_REVISION, 4) >> 8, pci::dmae::kClassCode);
    kernel::pci_dev* rp = m.pci->core().find("0000:00:01.0");
    const int ctl2 = rp->pcie_cap + PCI_EXP_DEVCTL2;
    m.pci->core().write_config(*rp, ctl2, 2, m.pci->core().read_config(*rp, ctl2, 2) & ~uint32_t{PCI_EXP_DEVCTL2_ARI});
    EXPECT_EQ(m.config(1, 9, PCI_CLASS_REVISION, 4), 0xFFFFFFFFu);  // device 1 below a port: not routed
  });
}
