// A bus that is not PCI, for tests of the generic device paths (as the mdev and s390 css buses
// will be): a registered bus_type named "test" and devices on it, each allocated on its own with
// a release that frees it and counts the frees.
#pragma once

#include <string>

#include "vfio/linux/drivers/base/bus.h"

namespace vfiosim::testbus {

struct TestBus {
  kernel::bus_type bus;
  int freed = 0;  // devices released

  TestBus() {
    bus.name = "test";
    kernel::bus_register(&bus);
  }
  ~TestBus() { kernel::bus_unregister(&bus); }
  TestBus(const TestBus&) = delete;
  TestBus& operator=(const TestBus&) = delete;

  /// device_register() of a new device `name` on the bus; device_unregister() lets it go.
  kernel::device* add(const std::string& name) {
    auto* d = new kernel::device();
    kernel::device_initialize(d);
    d->init_name = name;
    d->bus = &bus;
    d->release = [this](kernel::device* dev) {
      ++freed;
      delete dev;
    };
    kernel::device_add(d);
    return d;
  }
};

}  // namespace vfiosim::testbus
