#include "vfio/linux/drivers/base/bus.h"

#include <algorithm>

#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

namespace {

bus_type* to_bus(kobject* kobj) { return container_of(kobj, &bus_type::subsys); }
device_driver* to_drv(kobject* kobj) { return container_of(kobj, &device_driver::kobj); }

// sysfs_streq(): a name written with echo ends in a newline the lookup ignores.
std::string streq_name(const std::string& buf) {
  return !buf.empty() && buf.back() == '\n' ? buf.substr(0, buf.size() - 1) : buf;
}

long count_or(int err, const std::string& buf) { return err ? err : static_cast<long>(buf.size()); }

// static BUS_ATTR_WO(drivers_probe), BUS_ATTR_RW(drivers_autoprobe)
const attribute bus_attr_drivers_probe{"drivers_probe", S_IWUSR, nullptr,
                                       [](kobject* k, const std::string& buf) {
                                         return count_or(drivers_probe_store(to_bus(k), streq_name(buf)), buf);
                                       }};
const attribute bus_attr_drivers_autoprobe{"drivers_autoprobe", S_IWUSR | S_IRUGO,
                                           [](kobject* k, std::string& buf) {
                                             buf = to_bus(k)->drivers_autoprobe ? "1\n" : "0\n";
                                             return static_cast<long>(buf.size());
                                           },
                                           [](kobject* k, const std::string& buf) {
                                             return count_or(drivers_autoprobe_store(to_bus(k), buf), buf);
                                           }};
// static DRIVER_ATTR_IGNORE_LOCKDEP(bind, 0200, ...), (unbind, 0200, ...)
const attribute driver_attr_bind{"bind", S_IWUSR, nullptr, [](kobject* k, const std::string& buf) {
                                   return count_or(bind_store(to_drv(k), streq_name(buf)), buf);
                                 }};
const attribute driver_attr_unbind{"unbind", S_IWUSR, nullptr, [](kobject* k, const std::string& buf) {
                                     return count_or(unbind_store(to_drv(k), streq_name(buf)), buf);
                                   }};

// remove_probe_files()
void remove_probe_files(bus_type* bus) {
  sysfs_remove_file(&bus->subsys, &bus_attr_drivers_autoprobe);
  sysfs_remove_file(&bus->subsys, &bus_attr_drivers_probe);
}

// add_probe_files()
int add_probe_files(bus_type* bus) {
  int retval = sysfs_create_file(&bus->subsys, &bus_attr_drivers_probe);
  if (retval) return retval;
  retval = sysfs_create_file(&bus->subsys, &bus_attr_drivers_autoprobe);
  if (retval) sysfs_remove_file(&bus->subsys, &bus_attr_drivers_probe);
  return retval;
}

}  // namespace

// bus_register(): /sys/bus/<bus> with devices/, drivers/, the probe files and the bus's groups;
// a failure takes back what was made.
int bus_register(bus_type* bus) {
  if (bus->registered) return -EBUSY;  // the same bus_type twice: kset_register() of an existing name
  bus->drivers_autoprobe = true;
  bus->subsys = kobject{bus->name, sysfs_kset("bus"), nullptr};
  // Deliberate difference: a second simulated kernel in the same process (tests that build two
  // platforms) finds its bus's name taken in the one tree; its bus works but stays out of sysfs.
  if (kernfs_find_and_get(bus->subsys.parent->sd.get(), bus->name)) {
    bus->registered = true;
    return 0;
  }
  int retval = sysfs_create_dir(&bus->subsys);  // kset_register(&priv->subsys)
  if (retval) return retval;
  bus->devices_kset = kobject{"devices", &bus->subsys, nullptr};
  bus->drivers_kset = kobject{"drivers", &bus->subsys, nullptr};
  if (!(retval = sysfs_create_dir(&bus->devices_kset)) && !(retval = sysfs_create_dir(&bus->drivers_kset)) &&
      !(retval = add_probe_files(bus))) {
    if (!(retval = sysfs_create_groups(&bus->subsys, bus->bus_groups))) {
      bus->registered = true;
      return 0;
    }
    remove_probe_files(bus);
  }
  sysfs_remove_dir(&bus->subsys);  // the ksets inside go with it
  bus->devices_kset.sd.reset();
  bus->drivers_kset.sd.reset();
  return retval;
}

// bus_unregister(): the bus's devices are gone by now (their owners removed them).
void bus_unregister(bus_type* bus) {
  if (!bus->drivers.empty())
    kernel_warn("WARNING", "bus '" + bus->name + "' unregistered with drivers still on it");
  sysfs_remove_groups(&bus->subsys, bus->bus_groups);
  remove_probe_files(bus);
  sysfs_remove_dir(&bus->drivers_kset);
  sysfs_remove_dir(&bus->devices_kset);
  sysfs_remove_dir(&bus->subsys);
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

// bus_add_device(): the bus's dev_groups, the link in /sys/bus/<bus>/devices and the device's
// "subsystem" link, then on klist_devices (holding a reference).
int bus_add_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return 0;
  if (!bus->registered) return -EINVAL;
  if (!dev->sysfs.sd) {  // out of sysfs (see device_add)
    bus->devices.push_back(get_device(dev));
    return 0;
  }
  int error = sysfs_create_groups(&dev->sysfs, bus->dev_groups);  // device_add_groups()
  if (error) return error;
  error = sysfs_create_link(&bus->devices_kset, &dev->sysfs, dev_name(dev));
  if (!error) {
    error = sysfs_create_link(&dev->sysfs, &bus->subsys, "subsystem");
    if (!error) {
      bus->devices.push_back(get_device(dev));
      return 0;
    }
    sysfs_remove_link(&bus->devices_kset, dev_name(dev));  // out_subsys
  }
  sysfs_remove_groups(&dev->sysfs, bus->dev_groups);  // out_put
  return error;
}

// bus_probe_device(): a new device gets a driver if the bus probes automatically.
void bus_probe_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return;
  if (bus->drivers_autoprobe) device_initial_probe(dev);
}

// bus_remove_device(): its links and the bus's groups go, it leaves klist_devices, then its
// driver is released.
void bus_remove_device(device* dev) {
  bus_type* bus = dev->bus;
  if (!bus) return;
  sysfs_remove_link(&dev->sysfs, "subsystem");
  if (dev->sysfs.sd) sysfs_remove_link(&bus->devices_kset, dev_name(dev));
  sysfs_remove_groups(&dev->sysfs, bus->dev_groups);
  auto it = std::find(bus->devices.begin(), bus->devices.end(), dev);
  const bool attached = it != bus->devices.end();
  if (attached) bus->devices.erase(it);
  device_release_driver(dev);
  if (attached) put_device(dev);
}

// bus_add_driver(), first half: the driver's directory in drivers/.
int bus_add_driver_sysfs(device_driver* drv) {
  drv->kobj = kobject{drv->name, &drv->bus->drivers_kset, nullptr};
  if (!drv->bus->subsys.sd) return 0;  // a bus out of sysfs (see bus_register)
  return sysfs_create_dir(&drv->kobj);  // kobject_init_and_add()
}

// bus_add_driver(), second half (after driver_attach): the bus's drv_groups and, unless
// suppressed, bind and unbind; a failure is only logged ("Give up"), as in the kernel.
void bus_add_driver_files(device_driver* drv) {
  if (!drv->kobj.sd) return;
  if (sysfs_create_groups(&drv->kobj, drv->bus->drv_groups))
    kernel_warn("pr_err", "bus_add_driver: driver_add_groups(" + drv->name + ") failed");
  if (!drv->suppress_bind_attrs) {
    int error = sysfs_create_file(&drv->kobj, &driver_attr_bind);
    if (!error && (error = sysfs_create_file(&drv->kobj, &driver_attr_unbind)))
      sysfs_remove_file(&drv->kobj, &driver_attr_bind);
    if (error) kernel_warn("pr_err", "bus_add_driver: add_bind_files(" + drv->name + ") failed");
  }
}

// bus_remove_driver(): bind, unbind and the groups go (before driver_detach).
void bus_remove_driver_files(device_driver* drv) {
  if (!drv->suppress_bind_attrs) {
    sysfs_remove_file(&drv->kobj, &driver_attr_unbind);
    sysfs_remove_file(&drv->kobj, &driver_attr_bind);
  }
  sysfs_remove_groups(&drv->kobj, drv->bus->drv_groups);
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
