#include "vfio/linux/drivers/base/core.h"

#include "vfio/linux/drivers/base/bus.h"
#include "vfio/linux/drivers/base/class.h"
#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

namespace {
size_t g_live = 0;
}

size_t live_struct_devices() { return g_live; }

// device_initialize()
void device_initialize(device* dev) {
  LockChecker::instance().set_novalidate_class(dev->lock.lock_class());
  kref_init(dev->kobj);
  dev->registered = false;
  dev->dead = false;
  ++g_live;
}

// get_device(): kobject_get() of the device's kobject.
device* get_device(device* dev) {
  if (dev) kref_get(dev->kobj);
  return dev;
}

// put_device() -> kobject_put() -> device_release(): the bus or type's release frees the object.
void put_device(device* dev) {
  if (!dev) return;
  kref_put(dev->kobj, [dev] {
    --g_live;
    if (dev->sysfs.sd) sysfs_remove_dir(&dev->sysfs);  // kobject_cleanup(): auto cleanup kobject_del
    if (dev->release) {
      auto release = dev->release;  // the object (and its std::function) goes in the call
      release(dev);
    } else {
      kernel_warn("WARNING", "Device '" + dev->init_name +
                                 "' does not have a release() function, it is broken and must be fixed.");
    }
  });
}

// kill_device(): marks the device dead so that no driver binds any more (dev->p->dead).
bool kill_device(device* dev) {
  if (dev->dead) return false;
  dev->dead = true;
  return true;
}

namespace {

// get_device_parent(): a class device's class directory, else the parent's directory, else
// /sys/devices (the devices kset).
int device_sysfs_parent(device* dev, device* parent) {
  kobject* kobj = nullptr;
  if (dev->dev_class) {
    kobj = class_get_glue_dir(dev, parent);
    if (!kobj) return -ENOMEM;
  } else {
    kobj = parent ? &parent->sysfs : sysfs_kset("devices");
  }
  dev->sysfs.parent = kobj;
  return 0;
}

// Deliberate difference: a device whose parent is not in sysfs (a stand-in parent the driver core
// never added, in tests) or whose bus is not (a second simulated kernel in the same process, whose
// names this process's one tree has already) stays out of sysfs instead of failing with -ENOENT
// or -EEXIST; everything else about it is as usual.
bool device_wants_sysfs(device* dev, device* parent) {
  if (parent && !parent->sysfs.sd) return false;
  return !(dev->bus && dev->bus->registered && !dev->bus->subsys.sd);
}

// device_add_attrs(): the class's groups, then the device's own.
int device_add_attrs(device* dev) {
  if (dev->dev_class) {
    if (int error = sysfs_create_groups(&dev->sysfs, dev->dev_class->dev_groups)) return error;
  }
  if (int error = sysfs_create_groups(&dev->sysfs, dev->groups)) {
    if (dev->dev_class) sysfs_remove_groups(&dev->sysfs, dev->dev_class->dev_groups);
    return error;
  }
  return 0;
}

// device_remove_attrs()
void device_remove_attrs(device* dev) {
  sysfs_remove_groups(&dev->sysfs, dev->groups);
  if (dev->dev_class) sysfs_remove_groups(&dev->sysfs, dev->dev_class->dev_groups);
}

// kobject_del() of the device, then cleanup_glue_dir().
void device_kobject_del(device* dev) {
  kobject* glue = dev->dev_class ? dev->sysfs.parent : nullptr;
  sysfs_remove_dir(&dev->sysfs);
  class_cleanup_glue_dir(dev, glue);
}

}  // namespace

// device_add(): the parent is held while the device is registered; its directory (kobject_add),
// class links and attributes, on the bus (bus_add_device: the bus's attributes and links),
// BUS_NOTIFY_ADD_DEVICE, then drivers are probed (bus_probe_device). A failure undoes the steps
// before it in reverse.
int device_add(device* dev) {
  dev = get_device(dev);
  if (!dev) return -EINVAL;
  if (dev->init_name.empty()) {
    put_device(dev);
    return -EINVAL;
  }
  device* parent = get_device(dev->parent);
  const bool in_sysfs = device_wants_sysfs(dev, parent);
  int error = in_sysfs ? device_sysfs_parent(dev, parent) : 0;
  if (!error && in_sysfs) {
    dev->sysfs.name = dev_name(dev);
    error = sysfs_create_dir(&dev->sysfs);  // kobject_add()
    if (error) class_cleanup_glue_dir(dev, dev->dev_class ? dev->sysfs.parent : nullptr);
  }
  if (error) {
    put_device(parent);
    put_device(dev);
    return error;
  }
  if (!(error = in_sysfs ? device_add_class_symlinks(dev) : 0)) {
    if (!(error = in_sysfs ? device_add_attrs(dev) : 0)) {
      if (!(error = bus_add_device(dev))) {
        dev->registered = true;  // kobject_add(): state_in_sysfs
        bus_notify(dev, BUS_NOTIFY_ADD_DEVICE);
        bus_probe_device(dev);
        put_device(dev);
        return 0;
      }
      device_remove_attrs(dev);  // BusError
    }
    device_remove_class_symlinks(dev);  // AttrsError
  }
  device_kobject_del(dev);  // SymlinkError, attrError
  put_device(parent);
  put_device(dev);
  return error;
}

// device_del(): killed under its lock first, so that no driver binds any more; its class links
// and attributes go, it leaves its bus, and its directory goes last.
void device_del(device* dev) {
  device_ref ref(dev);
  {
    device_lock_guard lock(dev);
    kill_device(dev);
  }
  bus_notify(dev, BUS_NOTIFY_DEL_DEVICE);
  if (dev->sysfs.sd) {
    device_remove_class_symlinks(dev);
    device_remove_attrs(dev);
  }
  bus_remove_device(dev);
  bus_notify(dev, BUS_NOTIFY_REMOVED_DEVICE);
  dev->registered = false;  // kobject_del()
  device_kobject_del(dev);
  put_device(dev->parent);
}

// device_register()
int device_register(device* dev) {
  device_initialize(dev);
  return device_add(dev);
}

// device_unregister()
void device_unregister(device* dev) {
  device_del(dev);
  put_device(dev);
}

}  // namespace vfiosim::kernel
