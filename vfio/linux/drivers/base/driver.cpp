#include "vfio/linux/drivers/base/driver.h"

#include <algorithm>

#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

// driver_find()
device_driver* driver_find(const std::string& name, bus_type* bus) {
  if (!bus) return nullptr;
  for (device_driver* d : bus->drivers)
    if (d->name == name) return d;
  return nullptr;
}

// driver_register() -> bus_add_driver(): its directory, on the bus's list, driver_attach() when
// the bus probes automatically, then its files.
int driver_register(device_driver* drv) {
  if (!drv->bus || !drv->bus->registered) {
    kernel_warn("pr_err", "Driver '" + drv->name + "' was unable to register with bus_type '" +
                              (drv->bus ? drv->bus->name : std::string("(null)")) +
                              "' because the bus was not initialized.");
    return -EINVAL;
  }
  if (driver_find(drv->name, drv->bus)) {
    kernel_warn("pr_err", "Error: Driver '" + drv->name + "' is already registered, aborting...");
    return -EBUSY;
  }
  if (int error = bus_add_driver_sysfs(drv)) return error;
  drv->bus->drivers.push_back(drv);
  drv->registered = true;
  if (drv->bus->drivers_autoprobe) driver_attach(drv);
  bus_add_driver_files(drv);
  if (drv->kobj.sd && sysfs_create_groups(&drv->kobj, drv->groups))  // driver_add_groups(drv, drv->groups)
    kernel_warn("pr_err", "driver_register: driver_add_groups(" + drv->name + ") failed");
  return 0;
}

// driver_unregister() -> bus_remove_driver(): its files go, it is detached from every device,
// then it leaves the bus and its directory goes.
void driver_unregister(device_driver* drv) {
  if (!drv->registered) {
    kernel_warn("WARNING", "Unexpected driver unregister!");
    return;
  }
  sysfs_remove_groups(&drv->kobj, drv->groups);  // driver_remove_groups()
  bus_remove_driver_files(drv);
  driver_detach(drv);
  auto& list = drv->bus->drivers;
  list.erase(std::remove(list.begin(), list.end(), drv), list.end());
  sysfs_remove_dir(&drv->kobj);  // kobject_put(&drv->p->kobj)
  drv->registered = false;
}

// driver_match_device()
int driver_match_device(device_driver* drv, device* dev) {
  return drv->bus->match ? drv->bus->match(dev, drv) : 1;
}

}  // namespace vfiosim::kernel
