// Buses of the driver model (include/linux/device/bus.h, drivers/base/bus.c, v6.1): a bus_type
// with its match/probe/remove/dma_configure callbacks, the devices and drivers on it (the
// subsys_private klists), its notifier chain, and the bus attributes userspace writes
// (bind, unbind, drivers_probe, drivers_autoprobe) with the kernel's errors. PCI, the mdev bus and
// the s390 css bus are instances; a bus's own code (pci-driver.c, mdev_driver.c) fills the
// callbacks in.
// In sysfs: /sys/bus/<bus>/{devices,drivers,drivers_probe,drivers_autoprobe} and the bus's own
// groups; each device added gets the bus's dev_groups, a "subsystem" link and a link in
// devices/; each driver a directory in drivers/ with bind and unbind and the bus's drv_groups.
// Not modelled: subsys interfaces, async probing, deferred probing (no driver returns
// -EPROBE_DEFER here), uevent files.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/core.h"

namespace vfiosim::kernel {

struct device_driver;

// include/linux/device/bus.h: what bus notifiers are told.
constexpr unsigned long BUS_NOTIFY_ADD_DEVICE = 0x1;
constexpr unsigned long BUS_NOTIFY_DEL_DEVICE = 0x2;
constexpr unsigned long BUS_NOTIFY_REMOVED_DEVICE = 0x3;
constexpr unsigned long BUS_NOTIFY_BIND_DRIVER = 0x4;
constexpr unsigned long BUS_NOTIFY_BOUND_DRIVER = 0x5;
constexpr unsigned long BUS_NOTIFY_UNBIND_DRIVER = 0x6;
constexpr unsigned long BUS_NOTIFY_UNBOUND_DRIVER = 0x7;
constexpr unsigned long BUS_NOTIFY_DRIVER_NOT_BOUND = 0x8;

using bus_notifier_fn = std::function<void(unsigned long action, device* dev)>;

struct bus_type {
  std::string name;
  /// 1 when `drv` can handle `dev`, 0 when not, -errno when the bus cannot tell (absent: matches).
  std::function<int(device* dev, device_driver* drv)> match;
  /// Called instead of the driver's probe/remove when present (the bus unwraps its own types).
  std::function<int(device* dev)> probe;
  std::function<void(device* dev)> remove;
  /// Around a driver's life on a device: DMA set-up (IOMMU default domain) and its undoing.
  std::function<int(device* dev)> dma_configure;
  std::function<void(device* dev)> dma_cleanup;

  std::vector<const attribute_group*> bus_groups;  // /sys/bus/<bus>/...
  std::vector<const attribute_group*> dev_groups;  // every device's
  std::vector<const attribute_group*> drv_groups;  // every driver's

  // struct subsys_private
  bool registered = false;
  kobject subsys;        // /sys/bus/<bus>
  kobject devices_kset;  // /sys/bus/<bus>/devices
  kobject drivers_kset;  // /sys/bus/<bus>/drivers
  bool drivers_autoprobe = true;        // /sys/bus/<bus>/drivers_autoprobe
  std::vector<device*> devices;         // klist_devices, in the order they were added (each holds a reference)
  std::vector<device_driver*> drivers;  // klist_drivers, in registration order
  std::map<int, bus_notifier_fn> notifiers;
  int next_notifier = 1;

  bus_type() = default;
  bus_type(const bus_type&) = delete;
  bus_type& operator=(const bus_type&) = delete;
};

/// bus_register() / bus_unregister(): the bus exists for devices and drivers (every driver must
/// be unregistered before the bus is); -EEXIST when sysfs has a bus of that name.
int bus_register(bus_type* bus);
void bus_unregister(bus_type* bus);

/// bus_register_notifier() / bus_unregister_notifier(): an id for the unregistration.
int bus_register_notifier(bus_type* bus, bus_notifier_fn fn);
void bus_unregister_notifier(bus_type* bus, int id);
/// bus_notify(): every notifier in registration order (one may unregister itself meanwhile).
void bus_notify(device* dev, unsigned long action);

/// bus_for_each_dev(): `fn` on each device still on the bus, each held by a reference for the
/// call (a klist iteration survives devices leaving meanwhile); stops at the first non-zero
/// return, which it returns.
int bus_for_each_dev(bus_type* bus, const std::function<int(device*)>& fn);
/// bus_find_device_by_name(): a new reference on the device, or nullptr.
device* bus_find_device_by_name(bus_type* bus, const std::string& name);

// drivers/base/bus.c, the device side (from device_add/device_del).
int bus_add_device(device* dev);
void bus_probe_device(device* dev);
void bus_remove_device(device* dev);

/// bus_add_driver()'s sysfs part: the driver's directory (before it is on the bus), then its bind
/// and unbind files and the bus's drv_groups (after driver_attach). bus_remove_driver_files()
/// takes the files away before driver_detach; the directory goes with sysfs_remove_dir().
int bus_add_driver_sysfs(device_driver* drv);
void bus_add_driver_files(device_driver* drv);
void bus_remove_driver_files(device_driver* drv);

// The bus attributes (/sys/bus/<bus>/...), returning 0 or the kernel's -errno.
/// drivers/<drv>/bind: -ENODEV when no such device or the driver does not match it, else the
/// result of device_driver_attach().
int bind_store(device_driver* drv, const std::string& buf);
/// drivers/<drv>/unbind: -ENODEV unless the device is bound to `drv`.
int unbind_store(device_driver* drv, const std::string& buf);
/// drivers_probe: -ENODEV for no such device, -EINVAL when a driver could not be tried.
int drivers_probe_store(bus_type* bus, const std::string& buf);
/// drivers_autoprobe: "0" turns automatic probing of new devices off, anything else on.
int drivers_autoprobe_store(bus_type* bus, const std::string& buf);

}  // namespace vfiosim::kernel
