// drivers/base/dd.c (v6.1): binding drivers to devices and releasing them.
#include <algorithm>

#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

bool device_is_bound(const device* dev) {
  return dev->driver && std::find(dev->driver->devices.begin(), dev->driver->devices.end(), dev) !=
                            dev->driver->devices.end();
}

namespace {

// driver_bound(): on the driver's list; BUS_NOTIFY_BOUND_DRIVER.
void driver_bound(device* dev) {
  if (device_is_bound(dev)) {
    kernel_warn("pr_warn", "driver_bound: device " + dev_name(dev) + " already bound");
    return;
  }
  dev->driver->devices.push_back(dev);
  bus_notify(dev, BUS_NOTIFY_BOUND_DRIVER);
}

// call_driver_probe(): the bus's probe, else the driver's. -ENODEV and -ENXIO reject the match
// quietly; any other error is logged.
int call_driver_probe(device* dev, device_driver* drv) {
  int ret = 0;
  if (dev->bus->probe) ret = dev->bus->probe(dev);
  else if (drv->probe) ret = drv->probe(dev);
  if (ret && ret != -ENODEV && ret != -ENXIO)
    kernel_warn("pr_warn", drv->name + ": probe of " + dev_name(dev) + " failed with error " + std::to_string(ret));
  return ret;
}

// driver_sysfs_add(): BUS_NOTIFY_BIND_DRIVER, then the driver's link to the device and the
// device's "driver" link; a failure takes back the first.
int driver_sysfs_add(device* dev) {
  bus_notify(dev, BUS_NOTIFY_BIND_DRIVER);
  if (!dev->sysfs.sd || !dev->driver->kobj.sd) return 0;  // out of sysfs (see device_add, bus_register)
  int ret = sysfs_create_link(&dev->driver->kobj, &dev->sysfs, dev->sysfs.name);
  if (ret == 0) {
    ret = sysfs_create_link(&dev->sysfs, &dev->driver->kobj, "driver");
    if (ret) sysfs_remove_link(&dev->driver->kobj, dev->sysfs.name);
  }
  return ret;
}

// driver_sysfs_remove()
void driver_sysfs_remove(device* dev) {
  if (device_driver* drv = dev->driver) {
    sysfs_remove_link(&drv->kobj, dev->sysfs.name);
    sysfs_remove_link(&dev->sysfs, "driver");
  }
}

// really_probe(): dev->driver is set for the DMA set-up and the probe to see. A failure of the
// DMA set-up comes back as -errno; a probe's own error as a positive number, so that a caller
// trying every driver can tell it apart and go on to the next one.
int really_probe(device* dev, device_driver* drv) {
  dev->driver = drv;
  int ret = 0;
  if (dev->bus->dma_configure) ret = dev->bus->dma_configure(dev);
  if (ret == 0) {
    ret = driver_sysfs_add(dev);
    if (ret) {
      kernel_warn("pr_err", "really_probe: driver_sysfs_add(" + dev_name(dev) + ") failed");
    } else {
      ret = call_driver_probe(dev, drv);
      if (ret == 0) {
        driver_bound(dev);
        return 0;
      }
      ret = -ret;
      driver_sysfs_remove(dev);  // probe_failed
    }
    // sysfs_failed
    bus_notify(dev, BUS_NOTIFY_DRIVER_NOT_BOUND);
    if (dev->bus->dma_cleanup) dev->bus->dma_cleanup(dev);
  }
  // pinctrl_bind_failed
  dev->driver = nullptr;
  dev_set_drvdata(dev, nullptr);
  return ret;
}

// __driver_probe_device(): device lock held.
int driver_probe_device(device_driver* drv, device* dev) {
  if (dev->dead || !device_is_registered(dev)) return -ENODEV;
  if (dev->driver) return -EBUSY;
  return really_probe(dev, drv);
}

// __device_attach_driver(): no match goes on to the next driver, a failed match stops; a probe's
// own failure lets the next driver try, a failure to try stops.
int device_attach_driver(device_driver* drv, device* dev) {
  const int match = driver_match_device(drv, dev);
  if (match == 0) return 0;
  if (match < 0) return match;
  const int ret = driver_probe_device(drv, dev);
  if (ret < 0) return ret;
  return ret == 0;
}

// __device_release_driver(): device lock held.
void release_driver_locked(device* dev) {
  device_driver* drv = dev->driver;
  if (!drv) return;
  driver_sysfs_remove(dev);
  bus_notify(dev, BUS_NOTIFY_UNBIND_DRIVER);
  if (dev->bus && dev->bus->remove) dev->bus->remove(dev);  // device_remove()
  else if (drv->remove) drv->remove(dev);
  if (dev->bus && dev->bus->dma_cleanup) dev->bus->dma_cleanup(dev);
  dev->driver = nullptr;
  dev_set_drvdata(dev, nullptr);
  auto& list = drv->devices;
  list.erase(std::remove(list.begin(), list.end(), dev), list.end());  // klist_remove(knode_driver)
  bus_notify(dev, BUS_NOTIFY_UNBOUND_DRIVER);
}

// device_release_driver_internal(): only if `drv` (when given) still has the device.
void release_driver_internal(device* dev, device_driver* drv) {
  device_lock_guard lock(dev);
  if (dev->driver && (!drv || drv == dev->driver)) release_driver_locked(dev);
}

}  // namespace

// __device_attach(): under the device lock, nothing for a device being removed; 1 if it is bound
// already; otherwise each driver of the bus in registration order (drivers registered meanwhile
// included, ones unregistered skipped).
int device_attach(device* dev) {
  device_ref ref(dev);
  device_lock_guard lock(dev);
  if (dev->dead) return 0;
  if (dev->driver) return device_is_bound(dev) ? 1 : 0;
  if (!dev->bus) return 0;
  std::vector<device_driver*> tried;
  for (;;) {
    device_driver* next = nullptr;
    for (device_driver* d : dev->bus->drivers)
      if (std::find(tried.begin(), tried.end(), d) == tried.end()) {
        next = d;
        break;
      }
    if (!next) return 0;
    tried.push_back(next);
    if (int ret = device_attach_driver(next, dev)) return ret;
  }
}

// device_initial_probe()
void device_initial_probe(device* dev) { device_attach(dev); }

// driver_attach() -> bus_for_each_dev(__driver_attach): each matching device under its lock.
int driver_attach(device_driver* drv) {
  return bus_for_each_dev(drv->bus, [drv](device* dev) {
    const int match = driver_match_device(drv, dev);
    if (match == 0) return 0;
    if (match < 0) return match;
    device_lock_guard lock(dev);
    driver_probe_device(drv, dev);
    return 0;
  });
}

// device_driver_attach(): probe errors as negative errnos.
int device_driver_attach(device_driver* drv, device* dev) {
  device_ref ref(dev);
  device_lock_guard lock(dev);
  const int ret = driver_probe_device(drv, dev);
  return ret > 0 ? -ret : ret;
}

// device_release_driver()
void device_release_driver(device* dev) {
  device_ref ref(dev);
  release_driver_internal(dev, nullptr);
}

// device_driver_detach()
void device_driver_detach(device* dev) {
  device_ref ref(dev);
  release_driver_internal(dev, nullptr);
}

// driver_detach(): the last bound device first, each held by a reference across its release.
void driver_detach(device_driver* drv) {
  while (!drv->devices.empty()) {
    device_ref ref(drv->devices.back());
    const size_t before = drv->devices.size();
    release_driver_internal(ref.get(), drv);
    if (drv->devices.size() >= before) {  // not ours any more and still listed: cannot happen
      kernel_warn("WARNING", "driver_detach: " + dev_name(ref.get()) + " could not be released");
      break;
    }
  }
}

}  // namespace vfiosim::kernel
