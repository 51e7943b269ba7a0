#include "vfio/linux/base/bus.h"

#include <algorithm>

#include "vfio/linux/base/driver.h"
#include "vfio/linux/base/errno.h"

namespace vfiosim::kernel {

// bus_register()
int bus_register(bus_type* bus) {
  if (bus->registered) return -EBUSY;  // kset_register() of an existing name: -EEXIST in the kernel
  bus->registered = true;
  bus->drivers_autoprobe = true;
  return 0;
}

// bus_unregister(): the bus's devices are gone by now (their owners removed them).
void bus_unregister(bus_type* bus) {
  if (!bus->drivers.empty())
    kernel_warn("WARNING", "bus '" + bus->name + "' unregistered with drivers still on it");
  bus->registered = false;
}

int bus_register_notifier(bus_type* bus, bus_notifier_fn fn) {
  const int id = bus->next_notifier++;
  bus->notifiers[id] = std::move(fn);
  return id;
}

void bus_unregister_notifier(bus_type* bus, int id) { bus->notifiers.erase(id); }

// bus_notify() (blocking_notifier_call_chain on the bus's chain)
void bus_notify(device* dev, unsigned long action) {
  bus_type* bus = dev->bus;
  if (!bus) return;
  const std::map<int, bus_notifier_fn> chain = bus->notifiers;  // a notifier may unregister itself
  for (const auto& [id, fn] : chain)
    if (bus->notifiers.count(id)) fn(action, dev);
}

// bus_for_each_dev() over klist_devices: the next device is taken from the live list each time,
// after the ones visited, so devices removed meanwhile are skipped. Visited devices stay
// referenced until the walk ends, so none of their addresses can be reused by a new device.
int bus_for_each_dev(bus_type* bus, const std::function<int(device*)>& fn) {
  if (!bus) return -EINVAL;
  std::vector<device*> seen;
  int ret = 0;
  for (;;) {
    device* next = nullptr;
    for (device* d : bus->devices)
      if (std::find(seen.begin(), seen.end(), d) == seen.end()) {
        next = d;
        break;
      }
    if (!next) break;
    seen.push_back(get_device(next));  // klist_next(): the node (and so the device) is held
    if ((ret = fn(next))) break;
  }
  for (device* d : seen) put_device(d);
  return ret;
}

// bus_find_device_by_name()
device* bus_find_device_by_name(bus_type* bus, const std::string& name) {
  if (!bus) return nullptr;
  for (device* d : bus->devices)
    if (dev_name(d) == name) return get_device(d);
  return nullptr;
}

// bus_add_device(): on klist_devices (holding a reference) with the bus's sysfs links.
int bus_add_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return 0;
  if (!bus->registered) return -EINVAL;
  bus->devices.push_back(get_device(dev));
  return 0;
}

// bus_probe_device(): a new device gets a driver if the bus probes automatically.
void bus_probe_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return;
  if (bus->drivers_autoprobe) device_initial_probe(dev);
}

// bus_remove_device(): off klist_devices, then its driver is released.
void bus_remove_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return;
  auto it = std::find(bus->devices.begin(), bus->devices.end(), dev);
  const bool attached = it != bus->devices.end();
  if (attached) bus->devices.erase(it);
  device_release_driver(dev);
  if (attached) put_device(dev);
}

// bind_store()
int bind_store(device_driver* drv, const std::string& buf) {
  int err = -ENODEV;
  device* dev = bus_find_device_by_name(drv->bus, buf);
  if (dev && driver_match_device(drv, dev)) err = device_driver_attach(drv, dev);
  put_device(dev);
  return err;
}

// unbind_store()
int unbind_store(device_driver* drv, const std::string& buf) {
  int err = -ENODEV;
  device* dev = bus_find_device_by_name(drv->bus, buf);
  if (dev && dev->driver == drv) {
    device_driver_detach(dev);
    err = 0;
  }
  put_device(dev);
  return err;
}

// bus_rescan_devices_helper(): an unbound device is attached; only a failure to try counts.
static int bus_rescan_devices_helper(device* dev) {
  int ret = 0;
  if (!dev->driver) ret = device_attach(dev);
  return ret < 0 ? ret : 0;
}

// drivers_probe_store()
int drivers_probe_store(bus_type* bus, const std::string& buf) {
  device* dev = bus_find_device_by_name(bus, buf);
  if (!dev) return -ENODEV;
  const int err = bus_rescan_devices_helper(dev) == 0 ? 0 : -EINVAL;
  put_device(dev);
  return err;
}

// drivers_autoprobe_store(): only a leading '0' turns it off.
int drivers_autoprobe_store(bus_type* bus, const std::string& buf) {
  bus->drivers_autoprobe = buf.empty() || buf[0] != '0';
  return 0;
}

}  // namespace vfiosim::kernel
