// The generic driver core (drivers/base bus.c, driver.c, dd.c, core.c) on a bus that is not PCI:
// registration, matching, probe return conventions, the notifier sequence, bind/unbind/
// drivers_probe errors, removal during probe, and reference counts.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/sc_test.h"
#include "vfio/linux/drivers/base/bus.h"
#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {
namespace {

// A device on the test bus: its name's first letter is its "ID"; a driver's table is a string of
// the letters it takes.
struct test_dev {
  struct device dev;
  int probes = 0;
};
test_dev* to_test_dev(device* d) { return container_of(d, &test_dev::dev); }

struct test_drv {
  struct device_driver driver;
  std::string ids;
  int probe_ret = 0;
  std::vector<std::string> log;
};
test_drv* to_test_drv(device_driver* d) { return container_of(d, &test_drv::driver); }

struct TestBus {
  bus_type bus;
  std::vector<std::string> events;  // "<action>:<device>"
  std::vector<std::string> warnings;
  int freed = 0;

  TestBus() {
    set_kernel_report([this](const std::string& kind, const std::string& msg) { warnings.push_back(kind + ": " + msg); });
    bus.name = "test";
    bus.match = [](device* d, device_driver* drv) {
      return to_test_drv(drv)->ids.find(dev_name(d)[0]) != std::string::npos ? 1 : 0;
    };
    bus.probe = [](device* d) {
      test_drv* drv = to_test_drv(d->driver);
      ++to_test_dev(d)->probes;
      drv->log.push_back("probe " + dev_name(d));
      return drv->probe_ret;
    };
    bus.remove = [](device* d) { to_test_drv(d->driver)->log.push_back("remove " + dev_name(d)); };
    EXPECT_EQ(bus_register(&bus), 0);
    bus_register_notifier(&bus, [this](unsigned long action, device* d) {
      events.push_back(std::to_string(action) + ":" + dev_name(d));
    });
  }
  ~TestBus() { set_kernel_report(nullptr); }

  test_dev* make(const std::string& name) {
    auto* t = new test_dev();
    device_initialize(&t->dev);
    t->dev.init_name = name;
    t->dev.bus = &bus;
    t->dev.release = [this](device* d) {
      ++freed;
      delete to_test_dev(d);
    };
    return t;
  }
};

std::unique_ptr<test_drv> make_driver(bus_type& bus, const std::string& name, const std::string& ids) {
  auto d = std::make_unique<test_drv>();
  d->driver.name = name;
  d->driver.bus = &bus;
  d->ids = ids;
  return d;
}

TEST(DriverCore, DriverRegistrationBindsMatchingDevicesAndNotifiesInOrder) {
  TestBus t;
  sctest::run_in_thread([&] {
    test_dev* a = t.make("a0");
    test_dev* b = t.make("b0");
    ASSERT_EQ(device_add(&a->dev), 0);
    ASSERT_EQ(device_add(&b->dev), 0);
    EXPECT_EQ(t.events, (std::vector<std::string>{"1:a0", "1:b0"}));
    auto drv = make_driver(t.bus, "adrv", "a");
    ASSERT_EQ(driver_register(&drv->driver), 0);
    EXPECT_EQ(a->dev.driver, &drv->driver);
    EXPECT_TRUE(device_is_bound(&a->dev));
    EXPECT_EQ(b->dev.driver, nullptr);
    EXPECT_EQ(t.events, (std::vector<std::string>{"1:a0", "1:b0", "4:a0", "5:a0"}));
    // A second driver of the same name is refused.
    auto dup = make_driver(t.bus, "adrv", "b");
    EXPECT_EQ(driver_register(&dup->driver), -EBUSY);
    EXPECT_EQ(b->dev.driver, nullptr);
    EXPECT_EQ(driver_find("adrv", &t.bus), &drv->driver);

    t.events.clear();
    device_unregister(&a->dev);  // unbinds (UNBIND, remove, UNBOUND) between DEL and REMOVED
    EXPECT_EQ(t.events, (std::vector<std::string>{"2:a0", "6:a0", "7:a0", "3:a0"}));
    EXPECT_EQ(drv->log, (std::vector<std::string>{"probe a0", "remove a0"}));
    EXPECT_EQ(t.freed, 1);
    driver_unregister(&drv->driver);
    device_unregister(&b->dev);
    EXPECT_EQ(t.freed, 2);
  });
}

TEST(DriverCore, ProbeErrorsLetTheNextDriverTryAndComeBackNegativeFromBind) {
  TestBus t;
  sctest::run_in_thread([&] {
    auto first = make_driver(t.bus, "first", "x");
    first->probe_ret = -EIO;
    auto second = make_driver(t.bus, "second", "x");
    ASSERT_EQ(driver_register(&first->driver), 0);
    ASSERT_EQ(driver_register(&second->driver), 0);
    test_dev* x = t.make("x0");
    ASSERT_EQ(device_add(&x->dev), 0);  // bus_probe_device: first fails loudly, second binds
    EXPECT_EQ(x->dev.driver, &second->driver);
    EXPECT_EQ(x->probes, 2);
    ASSERT_EQ(t.warnings.size(), 1u);
    EXPECT_EQ(t.warnings[0], "pr_warn: first: probe of x0 failed with error -5");
    // DRIVER_NOT_BOUND for the failed one, then the bind.
    EXPECT_EQ(t.events, (std::vector<std::string>{"1:x0", "4:x0", "8:x0", "4:x0", "5:x0"}));

    EXPECT_EQ(unbind_store(&first->driver, "x0"), -ENODEV);  // not first's device
    EXPECT_EQ(bind_store(&first->driver, "x0"), -EBUSY);     // bound to second
    EXPECT_EQ(unbind_store(&second->driver, "x0"), 0);
    EXPECT_EQ(x->dev.driver, nullptr);
    EXPECT_EQ(bind_store(&first->driver, "x0"), -EIO);  // device_driver_attach(): negative
    EXPECT_EQ(bind_store(&first->driver, "nope"), -ENODEV);
    first->probe_ret = -ENODEV;  // rejected quietly
    EXPECT_EQ(bind_store(&first->driver, "x0"), -ENODEV);
    EXPECT_EQ(t.warnings.size(), 2u);
    // drivers_probe: -ENODEV for an unknown device, 0 when some driver could be tried.
    EXPECT_EQ(drivers_probe_store(&t.bus, "nope"), -ENODEV);
    EXPECT_EQ(drivers_probe_store(&t.bus, "x0"), 0);
    EXPECT_EQ(x->dev.driver, &second->driver);
    driver_unregister(&second->driver);
    EXPECT_EQ(x->dev.driver, nullptr);
    driver_unregister(&first->driver);
    device_unregister(&x->dev);
  });
}

TEST(DriverCore, DmaConfigureFailureIsNotAProbeError) {
  TestBus t;
  bool owned = true;
  t.bus.dma_configure = [&](device*) { return owned ? -EBUSY : 0; };
  int cleanups = 0;
  t.bus.dma_cleanup = [&](device*) { ++cleanups; };
  sctest::run_in_thread([&] {
    auto drv = make_driver(t.bus, "d", "y");
    auto other = make_driver(t.bus, "e", "y");
    ASSERT_EQ(driver_register(&drv->driver), 0);
    ASSERT_EQ(driver_register(&other->driver), 0);
    test_dev* y = t.make("y0");
    ASSERT_EQ(device_add(&y->dev), 0);
    // -EBUSY stops the attach at the first driver: the second is not tried.
    EXPECT_EQ(y->probes, 0);
    EXPECT_EQ(drivers_probe_store(&t.bus, "y0"), -EINVAL);
    EXPECT_EQ(bind_store(&other->driver, "y0"), -EBUSY);
    EXPECT_EQ(cleanups, 0);  // nothing configured, nothing cleaned up
    owned = false;
    EXPECT_EQ(drivers_probe_store(&t.bus, "y0"), 0);
    EXPECT_EQ(y->dev.driver, &drv->driver);
    device_unregister(&y->dev);
    EXPECT_EQ(cleanups, 1);
    driver_unregister(&drv->driver);
    driver_unregister(&other->driver);
  });
}

TEST(DriverCore, AutoprobeOffLeavesNewDevicesUnboundUntilDriversProbe) {
  TestBus t;
  sctest::run_in_thread([&] {
    auto drv = make_driver(t.bus, "z", "z");
    ASSERT_EQ(driver_register(&drv->driver), 0);
    ASSERT_EQ(drivers_autoprobe_store(&t.bus, "0"), 0);
    test_dev* z = t.make("z0");
    ASSERT_EQ(device_add(&z->dev), 0);
    EXPECT_EQ(z->dev.driver, nullptr);
    EXPECT_EQ(drivers_probe_store(&t.bus, "z0"), 0);
    EXPECT_EQ(z->dev.driver, &drv->driver);
    device_unregister(&z->dev);
    driver_unregister(&drv->driver);
  });
}

// A removal that comes while a probe sleeps waits for the device lock, then takes the driver off;
// the remover's and the prober's references keep the device alive until both are done.
TEST(DriverCore, RemovalDuringASleepingProbeWaitsAndFreesOnce) {
  TestBus t;
  test_dev* w = nullptr;
  auto drv = make_driver(t.bus, "slow", "w");
  t.bus.probe = [](device* d) {
    to_test_drv(d->driver)->log.push_back("probe " + dev_name(d));
    sc_core::wait(sc_core::sc_time(10, sc_core::SC_US));
    return 0;
  };
  sctest::run_in_thread([&] {
    ASSERT_EQ(driver_register(&drv->driver), 0);
    w = t.make("w0");
    sc_core::sc_spawn([&] { device_add(&w->dev); }, "adder");
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));  // the probe sleeps now
    device_unregister(&w->dev);
    EXPECT_EQ(drv->log, (std::vector<std::string>{"probe w0", "remove w0"}));
    EXPECT_EQ(t.freed, 1);
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::sc_time(10, sc_core::SC_US));
    driver_unregister(&drv->driver);
  });
  EXPECT_TRUE(t.bus.devices.empty());
}

TEST(DriverCore, BusForEachDevSkipsDevicesRemovedDuringTheWalk) {
  TestBus t;
  sctest::run_in_thread([&] {
    test_dev* a = t.make("a1");
    test_dev* b = t.make("b1");
    test_dev* c = t.make("c1");
    for (test_dev* d : {a, b, c}) ASSERT_EQ(device_add(&d->dev), 0);
    std::vector<std::string> seen;
    bus_for_each_dev(&t.bus, [&](device* d) {
      seen.push_back(dev_name(d));
      if (d == &a->dev) device_unregister(&b->dev);
      return 0;
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"a1", "c1"}));
    EXPECT_EQ(t.freed, 1);
    EXPECT_EQ(bus_for_each_dev(&t.bus, [](device*) { return 7; }), 7);  // stops at the first
    device* found = bus_find_device_by_name(&t.bus, "c1");
    ASSERT_EQ(found, &c->dev);
    EXPECT_EQ(kref_read(found->kobj), 3u);  // ours, the bus's list, and the initial one
    put_device(found);
    device_unregister(&a->dev);
    device_unregister(&c->dev);
    EXPECT_EQ(t.freed, 3);
  });
}

TEST(DriverCore, DeviceAddRefusesAnUnregisteredBusAndAnUnnamedDevice) {
  TestBus t;
  sctest::run_in_thread([&] {
    test_dev* n = t.make("");
    EXPECT_EQ(device_add(&n->dev), -EINVAL);
    put_device(&n->dev);
    bus_type other;
    other.name = "unregistered";
    test_dev* u = t.make("u0");
    u->dev.bus = &other;
    EXPECT_EQ(device_add(&u->dev), -EINVAL);
    EXPECT_FALSE(device_is_registered(&u->dev));
    put_device(&u->dev);
    auto drv = make_driver(other, "lost", "u");
    EXPECT_EQ(driver_register(&drv->driver), -EINVAL);
    EXPECT_EQ(t.freed, 2);
  });
}

}  // namespace
}  // namespace vfiosim::kernel
