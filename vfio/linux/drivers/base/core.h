// struct device and its life cycle (include/linux/device.h, drivers/base/core.c, v6.1): the
// kobject reference count with the release that frees the embedding object, the device lock that
// serialises probe, unbind and removal (device_lock), and the registration state the driver core
// checks after taking it (device_is_registered, dev->p->dead). A bus's device (pci_dev, later the
// mdev and css devices) embeds one; whoever may sleep while using a device holds a reference, as
// in the kernel, so a removal that runs meanwhile cannot free it.
// The bus and driver half of the driver model (bus_type, device_driver, probing and binding) is in
// bus.h and driver.h; device_add()/device_del() here put a device on its bus and take it off.
// In sysfs (vfio/linux/fs/sysfs) a device added has its directory under its parent's (under
// /sys/devices without one; a class device under a directory named after its class), its
// attribute groups, and its bus's and class's links; device_del() takes them all away again.
// Not modelled: device links, devres, uevents, device types.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/power/runtime.h"
#include "vfio/linux/fs/sysfs/sysfs.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

struct iommu_group;
struct bus_type;
struct device_driver;
struct device_class;

struct device {
  device* parent = nullptr;
  std::string init_name;               // dev_name()
  struct bus_type* bus = nullptr;      // the bus the device sits on (nullptr: a class device)
  struct device_driver* driver = nullptr;  // the driver bound to it (set from really_probe on)
  void* driver_data = nullptr;         // dev_get_drvdata()
  struct iommu_group* iommu_group = nullptr;
  struct device_class* dev_class = nullptr;  // dev->class: a class device (/sys/class/<class>/<name>)
  dev_pm_info power;                   // dev->power (runtime PM)
  std::vector<const attribute_group*> groups;  // dev->groups: attributes of this device alone
  /// Frees the embedding object when the last reference goes (the kernel warns without one).
  std::function<void(device*)> release;

  // drivers/base private state (struct device_private / kobject)
  kref kobj;                           // kobject_init(): one reference from device_initialize()
  struct kobject sysfs;                // the kobject's place in sysfs: name, parent, directory (kobj.sd)
  mutex lock{"&dev->mutex"};           // device_lock(); lockdep does not order it (novalidate)
  bool registered = false;             // device_add() done, device_del() not yet
  bool dead = false;                   // kill_device(): no driver may bind any more

  device() = default;
  device(const device&) = delete;
  device& operator=(const device&) = delete;
};

inline const std::string& dev_name(const device& dev) { return dev.init_name; }
inline const std::string& dev_name(const device* dev) { return dev->init_name; }
inline void* dev_get_drvdata(const device* dev) { return dev->driver_data; }
inline void dev_set_drvdata(device* dev, void* data) { dev->driver_data = data; }

/// container_of() for a member embedded in a struct that is not standard-layout: `ptr` must point
/// at the `member` of a live T.
template <class T, class M>
T* container_of(M* ptr, M T::*member) {
  if (!ptr) return nullptr;
  // The member's offset, from an aligned address nothing lives at (never dereferenced).
  const T* base = reinterpret_cast<const T*>(static_cast<uintptr_t>(alignof(T) * 4096));
  const auto offset = reinterpret_cast<const char*>(&(base->*member)) - reinterpret_cast<const char*>(base);
  return reinterpret_cast<T*>(reinterpret_cast<char*>(ptr) - offset);
}

/// kobj_to_dev(): the device whose sysfs kobject this is.
inline device* kobj_to_dev(kobject* kobj) { return container_of(kobj, &device::sysfs); }

/// device_initialize(): one reference, not registered.
void device_initialize(device* dev);
/// get_device() / put_device(): nullptr is allowed; the last put calls dev->release.
device* get_device(device* dev);
void put_device(device* dev);
/// device_is_registered()
inline bool device_is_registered(const device* dev) { return dev->registered; }

inline void device_lock(device* dev) { dev->lock.lock(); }
inline bool device_trylock(device* dev) { return dev->lock.trylock(); }
inline void device_unlock(device* dev) { dev->lock.unlock(); }

/// kill_device(): under the device lock; true if it was alive until now.
bool kill_device(device* dev);

/// device_add(): takes a reference on the parent, puts the device on its bus (bus_add_device,
/// BUS_NOTIFY_ADD_DEVICE) and probes drivers for it (bus_probe_device). 0 or -errno.
int device_add(device* dev);
/// device_del(): kills the device, BUS_NOTIFY_DEL_DEVICE, takes it off its bus (releasing its
/// driver), BUS_NOTIFY_REMOVED_DEVICE, and drops the parent's reference. The caller's reference
/// (from device_initialize) stays.
void device_del(device* dev);
/// device_register() = device_initialize() + device_add(); device_unregister() = device_del()
/// + put_device().
int device_register(device* dev);
void device_unregister(device* dev);

/// A reference for a scope: get_device() now, put_device() at the end.
class device_ref {
 public:
  explicit device_ref(device* dev) : dev_(get_device(dev)) {}
  ~device_ref() { put_device(dev_); }
  device_ref(const device_ref&) = delete;
  device_ref& operator=(const device_ref&) = delete;
  device* get() const { return dev_; }

 private:
  device* dev_;
};

/// device_lock()/device_unlock() for a scope.
class device_lock_guard {
 public:
  explicit device_lock_guard(device* dev) : dev_(dev) { device_lock(dev_); }
  ~device_lock_guard() { device_unlock(dev_); }
  device_lock_guard(const device_lock_guard&) = delete;
  device_lock_guard& operator=(const device_lock_guard&) = delete;

 private:
  device* dev_;
};

/// Live struct devices (for the end-of-run leak check).
size_t live_struct_devices();

}  // namespace vfiosim::kernel
