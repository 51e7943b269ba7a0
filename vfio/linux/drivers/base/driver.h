// Drivers of the driver model (include/linux/device/driver.h, drivers/base/driver.c and dd.c,
// v6.1): a device_driver registered on a bus, and the probing and release that bind it to devices
// and take it off again, with the kernel's locking (the device lock around every probe and
// release) and return conventions.
// Not modelled: device links, devres, deferred and asynchronous probing, coredump.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/bus.h"

namespace vfiosim::kernel {

struct device_driver {
  std::string name;
  bus_type* bus = nullptr;
  /// Used when the bus has no probe/remove of its own.
  std::function<int(device* dev)> probe;
  std::function<void(device* dev)> remove;
  bool suppress_bind_attrs = false;  // no bind/unbind files in sysfs
  std::vector<const attribute_group*> groups;  // the driver's own attributes

  // struct driver_private
  kobject kobj;  // /sys/bus/<bus>/drivers/<name>

  bool registered = false;
  std::vector<device*> devices;  // klist_devices: the devices bound, in binding order
};

/// driver_register(): -EINVAL for a driver without a registered bus, -EBUSY when the bus has a
/// driver of that name already; otherwise on the bus, and bound to every matching device
/// (driver_attach) if the bus probes automatically.
int driver_register(device_driver* drv);
/// driver_unregister(): released from every device (driver_detach), then off the bus.
void driver_unregister(device_driver* drv);
/// driver_find(): the bus's driver of that name, or nullptr.
device_driver* driver_find(const std::string& name, bus_type* bus);

/// driver_match_device(): the bus's match (1 when the bus has none).
int driver_match_device(device_driver* drv, device* dev);

// drivers/base/dd.c
/// device_attach(): under the device lock, bind the first matching driver that probes
/// successfully. 1 when bound (now or before), 0 when no driver took it, -errno when a driver
/// could not be tried (such as -EBUSY from the DMA set-up).
int device_attach(device* dev);
/// device_initial_probe(): device_attach() of a new device.
void device_initial_probe(device* dev);
/// driver_attach(): try `drv` on every device of its bus that it matches.
int driver_attach(device_driver* drv);
/// device_driver_attach(): probe `drv` on `dev` under the device lock; 0, or -errno (probe
/// errors too, as negative numbers).
int device_driver_attach(device_driver* drv, device* dev);
/// device_release_driver(): under the device lock, the driver's remove and the undoing of probe.
void device_release_driver(device* dev);
/// device_driver_detach(): device_release_driver() from the bind/unbind side.
void device_driver_detach(device* dev);
/// driver_detach(): release `drv` from each device it has, the last bound first.
void driver_detach(device_driver* drv);
/// device_is_bound(): probe has completed and the driver is on the device.
bool device_is_bound(const device* dev);

}  // namespace vfiosim::kernel
