// sysfs as the driver core makes it: a device added on a bus gets its directory, the bus's
// dev_groups, a "subsystem" link and a link in /sys/bus/<bus>/devices, and loses them all when
// deleted; a bound driver gets its link to the device and the device's "driver" link; the bus's
// drivers_probe/drivers_autoprobe and a driver's bind/unbind are attributes whose store errors
// come back from write(); classes give /sys/class/<class>/<device>.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/sc_test.h"
#include "tests/support/test_bus.h"
#include "vfio/linux/drivers/base/class.h"
#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/fs/sysfs/sysfs.h"

namespace vfiosim::kernel {
namespace {

std::string read(const std::string& path) {
  std::string out;
  const long r = kernfs_vfs_read(sysfs_root(), path, out);
  return r < 0 ? "error " + std::to_string(r) : out;
}
long write(const std::string& path, const std::string& buf) { return kernfs_vfs_write(sysfs_root(), path, buf); }
std::string readlink(const std::string& path) {
  std::string out;
  const int r = kernfs_vfs_readlink(sysfs_root(), path, out);
  return r < 0 ? "error " + std::to_string(r) : out;
}
std::vector<std::string> list(const std::string& path) {
  std::vector<std::string> out;
  if (int r = kernfs_vfs_list(sysfs_root(), path, out)) return {"error " + std::to_string(r)};
  return out;
}
const std::string kENOENT = "error " + std::to_string(-ENOENT);

// dev_groups of the test bus: "name" (the device's name), "busy" (a store that fails with
// -EBUSY) and "secret" (hidden by is_visible on devices whose name starts with 'h').
const attribute attr_name{"name", S_IRUGO, [](kobject* k, std::string& buf) {
                            buf = dev_name(kobj_to_dev(k)) + "\n";
                            return static_cast<long>(buf.size());
                          }, nullptr};
const attribute attr_busy{"busy", S_IWUSR, nullptr, [](kobject*, const std::string&) { return static_cast<long>(-EBUSY); }};
const attribute attr_secret{"secret", S_IRUGO, [](kobject*, std::string& buf) {
                              buf = "s\n";
                              return 2L;
                            }, nullptr};
const attribute_group test_dev_group{"", [](kobject* k, const attribute* a, int) -> uint16_t {
                                       return a == &attr_secret && dev_name(kobj_to_dev(k))[0] == 'h' ? 0 : a->mode;
                                     },
                                     {&attr_name, &attr_busy, &attr_secret}};

TEST(SysfsDriverCore, ADeviceGetsItsDirectoryAttributesAndLinksAndLosesThem) {
  testbus::TestBus t;
  t.bus.dev_groups = {&test_dev_group};
  sctest::run_in_thread([&] {
    device* d = t.add("t0");
    device* h = t.add("h0");
    EXPECT_EQ(list("/devices/t0"), (std::vector<std::string>{"busy", "name", "secret", "subsystem"}));
    EXPECT_EQ(list("/devices/h0"), (std::vector<std::string>{"busy", "name", "subsystem"}));  // is_visible
    EXPECT_EQ(read("/devices/t0/name"), "t0\n");
    EXPECT_EQ(readlink("/devices/t0/subsystem"), "../../bus/test");
    EXPECT_EQ(list("/bus/test/devices"), (std::vector<std::string>{"h0", "t0"}));
    EXPECT_EQ(readlink("/bus/test/devices/t0"), "../../../devices/t0");
    EXPECT_EQ(read("/bus/test/devices/t0/name"), "t0\n");  // through the link
    EXPECT_EQ(write("/bus/test/devices/t0/busy", "1"), -EBUSY);  // the store's error is the write's
    EXPECT_EQ(write("/bus/test/devices/t0/name", "1"), -EACCES);
    device_unregister(d);
    EXPECT_EQ(list("/devices/t0"), std::vector<std::string>{kENOENT});
    EXPECT_EQ(list("/bus/test/devices"), std::vector<std::string>{"h0"});
    EXPECT_EQ(read("/bus/test/devices/t0/name"), kENOENT);
    device_unregister(h);
    EXPECT_EQ(t.freed, 2);
  });
}

TEST(SysfsDriverCore, ABoundDriverIsLinkedBothWaysAndBindUnbindAreAttributes) {
  testbus::TestBus t;
  device_driver drv;
  drv.name = "tdrv";
  drv.bus = &t.bus;
  drv.probe = [](device*) { return 0; };
  sctest::run_in_thread([&] {
    ASSERT_EQ(driver_register(&drv), 0);
    EXPECT_EQ(list("/bus/test/drivers/tdrv"), (std::vector<std::string>{"bind", "unbind"}));
    EXPECT_EQ(list("/bus/test"), (std::vector<std::string>{"devices", "drivers", "drivers_autoprobe", "drivers_probe"}));
    device* d = t.add("t0");  // probed on add: bound
    EXPECT_EQ(readlink("/devices/t0/driver"), "../../bus/test/drivers/tdrv");
    EXPECT_EQ(readlink("/bus/test/drivers/tdrv/t0"), "../../../../devices/t0");
    EXPECT_EQ(read("/bus/test/drivers/tdrv/bind"), "error " + std::to_string(-EACCES));
    EXPECT_EQ(write("/bus/test/drivers/tdrv/unbind", "t0\n"), 3);
    EXPECT_EQ(readlink("/devices/t0/driver"), kENOENT);
    EXPECT_EQ(list("/bus/test/drivers/tdrv"), (std::vector<std::string>{"bind", "unbind"}));
    EXPECT_EQ(write("/bus/test/drivers/tdrv/unbind", "t0"), -ENODEV);
    EXPECT_EQ(write("/bus/test/drivers/tdrv/bind", "nothing"), -ENODEV);
    EXPECT_EQ(write("/bus/test/drivers/tdrv/bind", "t0"), 2);
    EXPECT_EQ(readlink("/bus/test/devices/t0/driver"), "../../bus/test/drivers/tdrv");
    EXPECT_EQ(read("/bus/test/drivers_autoprobe"), "1\n");
    EXPECT_EQ(write("/bus/test/drivers_autoprobe", "0\n"), 2);
    EXPECT_EQ(read("/bus/test/drivers_autoprobe"), "0\n");
    EXPECT_EQ(write("/bus/test/drivers_probe", "nothing"), -ENODEV);
    device_unregister(d);  // the driver is released, its link to the device goes too
    EXPECT_EQ(list("/bus/test/drivers/tdrv"), (std::vector<std::string>{"bind", "unbind"}));
    driver_unregister(&drv);
    EXPECT_EQ(list("/bus/test/drivers"), std::vector<std::string>{});
  });
}

TEST(SysfsDriverCore, ChildrenLiveInTheirParentsDirectory) {
  testbus::TestBus t;
  sctest::run_in_thread([&] {
    device* p = t.add("t0");
    auto* c = new device();
    device_initialize(c);
    c->init_name = "child";
    c->parent = p;
    c->release = [](device* dev) { delete dev; };
    ASSERT_EQ(device_add(c), 0);
    EXPECT_EQ(list("/devices/t0/child"), std::vector<std::string>{});  // no bus: no links
    device_unregister(c);
    EXPECT_EQ(list("/devices/t0"), std::vector<std::string>{"subsystem"});
    device_unregister(p);
  });
}

TEST(SysfsDriverCore, ClassDevicesAreLinkedFromSysClass) {
  testbus::TestBus t;
  device_class cls;
  cls.name = "mdev_bus";
  const attribute attr_kind{"kind", S_IRUGO, [](kobject*, std::string& buf) {
                              buf = "parent\n";
                              return 7L;
                            }, nullptr};
  const attribute_group grp{"", nullptr, {&attr_kind}};
  cls.dev_groups = {&grp};
  ASSERT_EQ(class_register(&cls), 0);
  device_class again;
  again.name = "mdev_bus";
  EXPECT_EQ(class_register(&again), -EEXIST);
  sctest::run_in_thread([&] {
    device* p = t.add("t0");
    auto make = [&](const std::string& name, device* parent) {
      auto* d = new device();
      device_initialize(d);
      d->init_name = name;
      d->parent = parent;
      d->dev_class = &cls;
      d->release = [](device* dev) { delete dev; };
      EXPECT_EQ(device_add(d), 0);
      return d;
    };
    device* a = make("p0", p);
    device* v = make("v0", nullptr);
    EXPECT_EQ(list("/class/mdev_bus"), (std::vector<std::string>{"p0", "v0"}));
    EXPECT_EQ(readlink("/class/mdev_bus/p0"), "../../devices/t0/mdev_bus/p0");
    EXPECT_EQ(readlink("/class/mdev_bus/v0"), "../../devices/virtual/mdev_bus/v0");
    EXPECT_EQ(readlink("/devices/t0/mdev_bus/p0/subsystem"), "../../../../class/mdev_bus");
    EXPECT_EQ(readlink("/devices/t0/mdev_bus/p0/device"), "../../../t0");
    EXPECT_EQ(read("/class/mdev_bus/p0/kind"), "parent\n");
    EXPECT_EQ(list("/class/mdev_bus/p0/device"), (std::vector<std::string>{"mdev_bus", "subsystem"}));
    device_unregister(a);
    EXPECT_EQ(list("/class/mdev_bus"), std::vector<std::string>{"v0"});
    EXPECT_EQ(list("/devices/t0"), std::vector<std::string>{"subsystem"});  // the class directory went
    device_unregister(v);
    device_unregister(p);
  });
  class_unregister(&cls);
  EXPECT_EQ(list("/class/mdev_bus"), std::vector<std::string>{kENOENT});
}

// Deliberate difference (a second simulated kernel in one process): a bus whose name sysfs has
// already registers, but it and its devices and drivers stay out of sysfs.
TEST(SysfsDriverCore, ASecondBusOfANameStaysOutOfSysfs) {
  testbus::TestBus t;
  bus_type other;
  other.name = "test";
  EXPECT_EQ(bus_register(&other), 0);
  EXPECT_TRUE(other.registered);
  EXPECT_EQ(other.subsys.sd, nullptr);
  device_driver drv;
  drv.name = "odrv";
  drv.bus = &other;
  drv.probe = [](device*) { return 0; };
  sctest::run_in_thread([&] {
    device* first = t.add("t0");
    ASSERT_EQ(driver_register(&drv), 0);
    auto* d = new device();
    device_initialize(d);
    d->init_name = "t0";  // the first bus's device has that name in /sys/devices
    d->bus = &other;
    d->release = [](device* dev) { delete dev; };
    ASSERT_EQ(device_add(d), 0);
    EXPECT_EQ(d->driver, &drv);  // bound without links
    EXPECT_EQ(d->sysfs.sd, nullptr);
    EXPECT_EQ(list("/devices/t0"), std::vector<std::string>{"subsystem"});
    device_unregister(d);
    driver_unregister(&drv);
    EXPECT_EQ(list("/devices/t0"), std::vector<std::string>{"subsystem"});
    device_unregister(first);
  });
  EXPECT_EQ(list("/bus/test"), (std::vector<std::string>{"devices", "drivers", "drivers_autoprobe", "drivers_probe"}));
  bus_unregister(&other);
  EXPECT_EQ(list("/bus/test"), (std::vector<std::string>{"devices", "drivers", "drivers_autoprobe", "drivers_probe"}));
}

}  // namespace
}  // namespace vfiosim::kernel
