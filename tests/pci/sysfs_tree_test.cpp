// PCI and IOMMU groups in the sysfs tree, as v6.1 makes them: PCI devices below their bridges and
// the host bridge pci0000:00; each IOMMU group a directory /sys/kernel/iommu_groups/<id> with
// devices/, reserved_regions and type, whose links come and go with its members (iommu_group_add_device /
// iommu_group_remove_device) and which goes with the group; relative link targets that climb as
// many levels as the directories are deep; the PF-only sriov_* attribute group and the
// virtfn<n>/physfn links sriov_numvfs makes and takes away; kernel::Sysfs's errors.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/pci/platform_machine.h"
#include "tests/support/machine.h"
#include "tests/support/sc_test.h"
#include "vfio/linux/lib/errname.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

// A root port with a switch whose downstream port has 03:00.0 below it, and an SR-IOV PF
// (two VFs) alone below a second root port at 04:00.0.
json topology() {
  json sw = {{"bdf", "01:00.0"},
             {"model", "switch"},
             {"downstream_ports",
              {{{"bdf", "02:00.0"}, {"acs", true}, {"children", {{{"bdf", "03:00.0"}, {"model", "dma-engine"}}}}}}}};
  json pf = {{"bdf", "04:00.0"}, {"model", "dma-engine"}, {"sriov", {{"total_vfs", 2}}}};
  return {{"root_ports",
           {{{"bdf", "00:01.0"}, {"acs", true}, {"children", {sw}}},
            {{"bdf", "00:02.0"}, {"acs", true}, {"children", {pf}}}}}};
}

struct Tree : pcitest::PlatformMachine {
  Tree() : PlatformMachine(topology()) {}
  kernel::Sysfs& fs() { return pci->sysfs(); }
  std::string read(const std::string& p) { return fs().read(p).value; }
  std::string readlink(const std::string& p) {
    const auto r = fs().readlink(p);
    return r.err ? "error " + std::to_string(r.err) : r.value;
  }
  std::vector<std::string> list(const std::string& p) {
    const auto r = fs().list(p);
    return r.err ? std::vector<std::string>{"error " + std::to_string(r.err)} : r.entries;
  }
  std::string group_of(const std::string& bdf) {
    return std::to_string(pci->core().find(bdf)->dev.iommu_group->id);
  }
};

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const std::string kDev = "/sys/bus/pci/devices/";
const std::string kENOENT = "error " + std::to_string(-ENOENT);

}  // namespace

TEST(SysfsTree, PciDevicesSitBelowTheirBridgesAndLinksClimbTheRealDepth) {
  Tree m;
  sctest::run_in_thread([&] {
    m.boot();
    EXPECT_TRUE(has(m.list("/sys/devices/pci0000:00"), "0000:00:01.0"));
    EXPECT_EQ(m.readlink(kDev + "0000:03:00.0"),
              "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0");
    const std::string g = m.group_of("0000:03:00.0");
    // Six levels up from .../0000:03:00.0 to the top of sysfs, four from a device below a root port.
    EXPECT_EQ(m.readlink(kDev + "0000:03:00.0/iommu_group"), "../../../../../../kernel/iommu_groups/" + g);
    EXPECT_EQ(m.readlink(kDev + "0000:03:00.0/driver"), "../../../../../../bus/pci/drivers/vfiosim-dmae");
    EXPECT_EQ(m.readlink(kDev + "0000:04:00.0/iommu_group"),
              "../../../../kernel/iommu_groups/" + m.group_of("0000:04:00.0"));
    EXPECT_EQ(m.readlink("/sys/kernel/iommu_groups/" + g + "/devices/0000:03:00.0"),
              "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0");
    EXPECT_EQ(m.read("/sys/kernel/iommu_groups/" + g + "/devices/0000:03:00.0/vendor"), "0x1b36\n");
  });
}

TEST(SysfsTree, AGroupDirectoryAndItsLinksFollowMembership) {
  Tree m;
  sctest::run_in_thread([&] {
    m.boot();
    const std::string g = m.group_of("0000:03:00.0");
    const std::string dir = "/sys/kernel/iommu_groups/" + g;
    EXPECT_TRUE(has(m.list("/sys/kernel/iommu_groups"), g));
    EXPECT_EQ(m.list(dir), (std::vector<std::string>{"devices", "reserved_regions", "type"}));
    EXPECT_EQ(m.fs().read(dir + "/reserved_regions").err, 0);  // no IOMMU driver: no regions
    EXPECT_EQ(m.read(dir + "/reserved_regions"), "");
    EXPECT_EQ(m.list(dir + "/devices"), std::vector<std::string>{"0000:03:00.0"});
    EXPECT_EQ(m.read(dir + "/type"), "unknown\n");  // no IOMMU driver: no default domain
    EXPECT_EQ(m.fs().write(kDev + "0000:03:00.0/remove", "1").err, 1);
    // iommu_group_remove_device() took both links; the group, left empty, took its directory.
    EXPECT_EQ(m.list(dir), std::vector<std::string>{kENOENT});
    EXPECT_FALSE(has(m.list("/sys/kernel/iommu_groups"), g));
    EXPECT_EQ(m.readlink(kDev + "0000:03:00.0/iommu_group"), kENOENT);
    EXPECT_EQ(m.fs().write("/sys/bus/pci/rescan", "1").err, 1);
    const std::string g2 = m.group_of("0000:03:00.0");
    EXPECT_EQ(m.list("/sys/kernel/iommu_groups/" + g2 + "/devices"), std::vector<std::string>{"0000:03:00.0"});
    EXPECT_EQ(m.readlink(kDev + "0000:03:00.0/iommu_group"), "../../../../../../kernel/iommu_groups/" + g2);
  });
}

TEST(SysfsTree, SriovAttributesAreAPfsAndNumvfsMakesAndTakesTheVfLinks) {
  Tree m;
  sctest::run_in_thread([&] {
    m.boot();
    const std::string pf = kDev + "0000:04:00.0/";
    const auto pf_files = m.list(pf);
    for (const char* a : {"sriov_totalvfs", "sriov_numvfs", "sriov_offset", "sriov_stride", "sriov_vf_device",
                          "sriov_drivers_autoprobe"}) {
      EXPECT_TRUE(has(pf_files, a)) << a;
      EXPECT_FALSE(has(m.list(kDev + "0000:03:00.0"), a)) << a << " on a device without SR-IOV";
    }
    EXPECT_EQ(m.read(pf + "sriov_totalvfs"), "2\n");
    EXPECT_FALSE(has(pf_files, "virtfn0"));
    EXPECT_EQ(m.fs().write(pf + "sriov_numvfs", "2").err, 1);
    EXPECT_EQ(m.readlink(pf + "virtfn0"), "../0000:04:00.1");
    EXPECT_EQ(m.readlink(pf + "virtfn1"), "../0000:04:00.2");
    const auto vf_files = m.list(kDev + "0000:04:00.1");
    EXPECT_TRUE(has(vf_files, "physfn"));
    EXPECT_FALSE(has(vf_files, "sriov_numvfs")) << "is_visible: a VF has no sriov_* files";
    EXPECT_EQ(m.readlink(kDev + "0000:04:00.1/physfn"), "../0000:04:00.0");
    // A VF joined its group through the tree too.
    const std::string g = m.group_of("0000:04:00.1");
    EXPECT_EQ(m.list("/sys/kernel/iommu_groups/" + g + "/devices"), std::vector<std::string>{"0000:04:00.1"});
    EXPECT_EQ(m.fs().write(pf + "sriov_numvfs", "0").err, 1);
    EXPECT_EQ(m.readlink(pf + "virtfn0"), kENOENT);
    EXPECT_EQ(m.readlink(kDev + "0000:04:00.1/physfn"), kENOENT);
    EXPECT_EQ(m.list("/sys/kernel/iommu_groups/" + g), std::vector<std::string>{kENOENT});
  });
}

TEST(SysfsTree, SysfsKeepsTheSystemCallsErrors) {
  Tree m;
  sctest::run_in_thread([&] {
    m.boot();
    const std::string d = kDev + "0000:03:00.0/";
    EXPECT_EQ(m.fs().read(d + "remove").err, -EACCES);            // write-only
    EXPECT_EQ(m.fs().write(d + "vendor", "1").err, -EACCES);        // read-only
    EXPECT_EQ(m.fs().readlink(d + "vendor").err, -EINVAL);          // not a link
    EXPECT_EQ(m.fs().list(d + "vendor").err, -ENOTDIR);
    EXPECT_EQ(m.fs().read(d + "iommu_group").err, -EISDIR);         // a link to a directory
    EXPECT_EQ(m.fs().read(d + "nothing").err, -ENOENT);
    EXPECT_EQ(m.fs().read("/proc/sys/vendor").err, -ENOENT);        // not below the mount
    EXPECT_EQ(m.fs().write(d + "driver_override", std::string(4095, 'x')).err, -EINVAL);
    EXPECT_EQ(m.fs().write(d + "remove", "yes").err, -EINVAL);
    EXPECT_EQ(m.read(d + "driver_override"), "(null)\n");
  });
}

// With an IOMMU driver the group joins through the iommu core (iommu_probe_device), its type is
// its default domain's and its reserved regions the driver's.
TEST(SysfsTree, AnIommuManagedGroupShowsItsDefaultDomainType) {
  support::Machine m;
  sctest::run_in_thread([&] {
    m.boot();
    kernel::Sysfs& fs = m.pci().sysfs();
    const std::string g = std::to_string(m.dev("01:00.0").dev.iommu_group->id);
    EXPECT_EQ(fs.read("/sys/kernel/iommu_groups/" + g + "/type").value, "DMA-FQ\n");
    // VT-d reserves the interrupt window for every device (intel_iommu_get_resv_regions).
    EXPECT_EQ(fs.read("/sys/kernel/iommu_groups/" + g + "/reserved_regions").value,
              "0x00000000fee00000 0x00000000feefffff msi\n");
    EXPECT_EQ(fs.list("/sys/kernel/iommu_groups/" + g + "/devices").entries, std::vector<std::string>{"0000:01:00.0"});
    EXPECT_EQ(fs.readlink(kDev + "0000:01:00.0/iommu_group").value, "../../../../kernel/iommu_groups/" + g);
  });
}
