#include "vfio/linux/base/core.h"

#include "vfio/linux/base/bus.h"
#include "vfio/linux/base/driver.h"

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

// device_add(): the parent is held while the device is registered; on the bus
// (bus_add_device), BUS_NOTIFY_ADD_DEVICE, then drivers are probed (bus_probe_device).
int device_add(device* dev) {
  dev = get_device(dev);
  if (!dev) return -EINVAL;
  if (dev->init_name.empty()) {
    put_device(dev);
    return -EINVAL;
  }
  get_device(dev->parent);
  if (int err = bus_add_device(dev)) {
    put_device(dev->parent);
    put_device(dev);
    return err;
  }
  dev->registered = true;  // kobject_add(): state_in_sysfs
  bus_notify(dev, BUS_NOTIFY_ADD_DEVICE);
  bus_probe_device(dev);
  put_device(dev);
  return 0;
}

// device_del(): killed under its lock first, so that no driver binds any more.
void device_del(device* dev) {
  device_ref ref(dev);
  {
    device_lock_guard lock(dev);
    kill_device(dev);
  }
  bus_notify(dev, BUS_NOTIFY_DEL_DEVICE);
  bus_remove_device(dev);
  bus_notify(dev, BUS_NOTIFY_REMOVED_DEVICE);
  dev->registered = false;  // kobject_del()
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
