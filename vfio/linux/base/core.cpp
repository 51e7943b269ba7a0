#include "vfio/linux/base/core.h"

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

}  // namespace vfiosim::kernel
