// sysfs on kernfs (vfio/linux/fs): directories, attribute files and groups, symlinks; path walks
// through links, readlink's relative targets, the VFS errors, and removal that leaves nothing of
// the removed object reachable.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "vfio/linux/fs/sysfs/sysfs.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {
namespace {

std::string read(const std::string& path, long* ret = nullptr) {
  std::string out;
  const long r = kernfs_vfs_read(sysfs_root(), path, out);
  if (ret) *ret = r;
  return r < 0 ? "error " + std::to_string(r) : out;
}

std::string readlink(const std::string& path) {
  std::string out;
  const int r = kernfs_vfs_readlink(sysfs_root(), path, out);
  return r < 0 ? "error " + std::to_string(r) : out;
}

std::vector<std::string> list(const std::string& path, int* ret = nullptr) {
  std::vector<std::string> out;
  const int r = kernfs_vfs_list(sysfs_root(), path, out);
  if (ret) *ret = r;
  return out;
}

// /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0 and /sys/kernel/iommu_groups/2, as Linux has them.
struct Tree {
  kobject host{"pci0000:00", sysfs_kset("devices"), nullptr};
  kobject port{"0000:00:01.0", &host, nullptr};
  kobject ep{"0000:01:00.0", &port, nullptr};
  kobject group{"2", sysfs_kset("kernel/iommu_groups"), nullptr};
  std::string vendor = "0x1b36\n";
  attribute vendor_attr{"vendor", S_IRUGO, [this](kobject*, std::string& b) {
                          b = vendor;
                          return static_cast<long>(b.size());
                        }, nullptr};
  attribute remove_attr{"remove", S_IWUSR, nullptr, [](kobject*, const std::string& b) {
                          return b == "1" ? static_cast<long>(b.size()) : -EINVAL;
                        }};
  attribute_group grp{"", nullptr, {&vendor_attr, &remove_attr}};

  Tree() {
    EXPECT_EQ(sysfs_create_dir(&host), 0);
    EXPECT_EQ(sysfs_create_dir(&port), 0);
    EXPECT_EQ(sysfs_create_dir(&ep), 0);
    EXPECT_EQ(sysfs_create_dir(&group), 0);
    EXPECT_EQ(sysfs_create_group(&ep, &grp), 0);
    EXPECT_EQ(sysfs_create_link(&ep, &group, "iommu_group"), 0);
  }
  ~Tree() {
    sysfs_remove_dir(&group);
    sysfs_remove_dir(&host);
  }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
};

TEST(SysfsKernfs, ReadlinkIsRelativeToTheLinksDirectory) {
  Tree t;
  EXPECT_EQ(readlink("/devices/pci0000:00/0000:00:01.0/0000:01:00.0/iommu_group"), "../../../../kernel/iommu_groups/2");
  kobject devices_dir{"devices", &t.group, nullptr};
  ASSERT_EQ(sysfs_create_dir(&devices_dir), 0);
  ASSERT_EQ(sysfs_create_link(&devices_dir, &t.ep, "0000:01:00.0"), 0);
  EXPECT_EQ(readlink("/kernel/iommu_groups/2/devices/0000:01:00.0"),
            "../../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
  // A sibling: one level up.
  kobject vf{"0000:01:00.1", &t.port, nullptr};
  ASSERT_EQ(sysfs_create_dir(&vf), 0);
  ASSERT_EQ(sysfs_create_link(&vf, &t.ep, "physfn"), 0);
  EXPECT_EQ(readlink("/devices/pci0000:00/0000:00:01.0/0000:01:00.1/physfn"), "../0000:01:00.0");
}

TEST(SysfsKernfs, PathsWalkThroughLinksInTheMiddle) {
  Tree t;
  kobject bus_devices{"devices", sysfs_kset("bus/testbus"), nullptr};
  ASSERT_EQ(sysfs_create_dir(&bus_devices), 0);
  ASSERT_EQ(sysfs_create_link(&bus_devices, &t.ep, "0000:01:00.0"), 0);
  EXPECT_EQ(read("/bus/testbus/devices/0000:01:00.0/vendor"), "0x1b36\n");
  // Through two links: the device's link, then its iommu_group link.
  EXPECT_EQ(list("/bus/testbus/devices/0000:01:00.0/iommu_group"), std::vector<std::string>{});
  EXPECT_EQ(readlink("/bus/testbus/devices/0000:01:00.0/iommu_group"), "../../../../kernel/iommu_groups/2");
  EXPECT_EQ(readlink("/bus/testbus/devices/0000:01:00.0"), "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
  EXPECT_EQ(list("/bus/testbus/devices/0000:01:00.0"), (std::vector<std::string>{"iommu_group", "remove", "vendor"}));
}

TEST(SysfsKernfs, VfsErrorsAreTheKernels) {
  Tree t;
  const std::string dev = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
  long ret = 0;
  read(dev + "/nothing", &ret);
  EXPECT_EQ(ret, -ENOENT);
  read(dev + "/remove", &ret);
  EXPECT_EQ(ret, -EACCES);  // write-only
  EXPECT_EQ(kernfs_vfs_write(sysfs_root(), dev + "/vendor", "1"), -EACCES);  // read-only
  read(dev, &ret);
  EXPECT_EQ(ret, -EISDIR);
  read(dev + "/iommu_group", &ret);
  EXPECT_EQ(ret, -EISDIR);  // a link to a directory reads as the directory
  EXPECT_EQ(readlink(dev + "/vendor"), "error " + std::to_string(-EINVAL));
  EXPECT_EQ(readlink(dev), "error " + std::to_string(-EINVAL));
  int lret = 0;
  list(dev + "/vendor", &lret);
  EXPECT_EQ(lret, -ENOTDIR);
  read(dev + "/vendor/x", &ret);
  EXPECT_EQ(ret, -ENOTDIR);
  EXPECT_EQ(kernfs_vfs_write(sysfs_root(), dev, "1"), -EISDIR);
}

TEST(SysfsKernfs, StoreReturnIsTheWritesReturn) {
  Tree t;
  const std::string remove = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/remove";
  EXPECT_EQ(kernfs_vfs_write(sysfs_root(), remove, "1"), 1);
  EXPECT_EQ(kernfs_vfs_write(sysfs_root(), remove, "2"), -EINVAL);
  t.vendor = "0x8086\n";  // show is called on each read
  EXPECT_EQ(read("/devices/pci0000:00/0000:00:01.0/0000:01:00.0/vendor"), "0x8086\n");
}

TEST(SysfsKernfs, IsVisibleHidesAndNamedGroupsGetADirectory) {
  Tree t;
  attribute a{"shown", S_IRUGO, [](kobject*, std::string& b) { b = "a\n"; return 2L; }, nullptr};
  attribute h{"hidden", S_IRUGO, [](kobject*, std::string& b) { b = "h\n"; return 2L; }, nullptr};
  std::vector<int> asked;
  attribute_group g{"power", [&](kobject* k, const attribute* at, int n) -> uint16_t {
                      EXPECT_EQ(k, &t.ep);
                      asked.push_back(n);
                      return at == &h ? 0 : at->mode;
                    },
                    {&a, &h}};
  ASSERT_EQ(sysfs_create_group(&t.ep, &g), 0);
  EXPECT_EQ(asked, (std::vector<int>{0, 1}));
  const std::string dir = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/power";
  EXPECT_EQ(list(dir), std::vector<std::string>{"shown"});
  EXPECT_EQ(read(dir + "/shown"), "a\n");
  sysfs_remove_group(&t.ep, &g);
  int ret = 0;
  list(dir, &ret);
  EXPECT_EQ(ret, -ENOENT);
  EXPECT_EQ(list("/devices/pci0000:00/0000:00:01.0/0000:01:00.0"),
            (std::vector<std::string>{"iommu_group", "remove", "vendor"}));
}

TEST(SysfsKernfs, DuplicatesFailAndAFailedGroupLeavesNothing) {
  Tree t;
  std::vector<std::string> warnings;
  set_kernel_report([&](const std::string& kind, const std::string& msg) { warnings.push_back(kind + ": " + msg); });
  kobject again{"0000:01:00.0", &t.port, nullptr};
  EXPECT_EQ(sysfs_create_dir(&again), -EEXIST);
  EXPECT_EQ(again.sd, nullptr);
  attribute other{"other", S_IRUGO, [](kobject*, std::string& b) { b = "o"; return 1L; }, nullptr};
  attribute_group clash{"", nullptr, {&other, &t.vendor_attr}};  // "vendor" exists already
  EXPECT_EQ(sysfs_create_group(&t.ep, &clash), -EEXIST);
  // create_files() undoes a failed group by removing every name in it, as v6.1 does: "other",
  // and the "vendor" of the group that was there first.
  EXPECT_EQ(list("/devices/pci0000:00/0000:00:01.0/0000:01:00.0"), (std::vector<std::string>{"iommu_group", "remove"}));
  EXPECT_EQ(sysfs_create_link(&t.ep, &t.group, "iommu_group"), -EEXIST);
  EXPECT_EQ(sysfs_create_link_nowarn(&t.ep, &t.group, "iommu_group"), -EEXIST);
  EXPECT_EQ(warnings.size(), 3u);
  kobject nodir{"x", nullptr, nullptr};
  EXPECT_EQ(sysfs_create_link(&t.ep, &nodir, "x"), -ENOENT);
  EXPECT_EQ(sysfs_create_group(&nodir, &t.grp), -EINVAL);
  set_kernel_report(nullptr);
}

TEST(SysfsKernfs, ARemovedDirectoryIsUnreachableEvenThroughLinks) {
  Tree t;
  kobject bus_devices{"devices", sysfs_kset("bus/testbus2"), nullptr};
  ASSERT_EQ(sysfs_create_dir(&bus_devices), 0);
  ASSERT_EQ(sysfs_create_link(&bus_devices, &t.ep, "0000:01:00.0"), 0);
  kernfs_node_ptr vendor = kernfs_find_and_get(t.ep.sd.get(), "vendor");
  ASSERT_TRUE(vendor);
  sysfs_remove_dir(&t.port);  // the parent, with the endpoint inside
  EXPECT_EQ(t.port.sd, nullptr);
  EXPECT_FALSE(vendor->active);
  EXPECT_FALSE(vendor->ops.show);  // nothing of the owner can be called any more
  long ret = 0;
  read("/bus/testbus2/devices/0000:01:00.0/vendor", &ret);
  EXPECT_EQ(ret, -ENOENT);
  read("/devices/pci0000:00/0000:00:01.0", &ret);
  EXPECT_EQ(ret, -ENOENT);
  EXPECT_EQ(list("/devices/pci0000:00"), std::vector<std::string>{});
  EXPECT_EQ(kernfs_vfs_write(sysfs_root(), "/bus/testbus2/devices/0000:01:00.0/remove", "1"), -ENOENT);
  sysfs_remove_link(&bus_devices, "0000:01:00.0");
  EXPECT_EQ(list("/bus/testbus2/devices"), std::vector<std::string>{});
}

}  // namespace
}  // namespace vfiosim::kernel
