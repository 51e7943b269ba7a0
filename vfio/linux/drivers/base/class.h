// Device classes (include/linux/device/class.h, drivers/base/class.c, v6.1): a class is a
// directory /sys/class/<name>; a device with dev_class set is a class device, whose own directory
// sits in a directory named after the class under its parent (/sys/devices/virtual/<class>
// without a parent) and which /sys/class/<name>/<device> links to, with a "subsystem" link back
// and a "device" link to its parent. The mdev parent class (mdev_bus) is one.
// Not modelled: class interfaces, devnodes, namespaces, class attributes beyond dev_groups.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/core.h"

namespace vfiosim::kernel {

struct device_class {  // struct class
  std::string name;
  std::vector<const attribute_group*> dev_groups;  // every class device's attributes

  // struct subsys_private
  bool registered = false;
  kobject subsys;                                  // /sys/class/<name>
  std::vector<device*> devices;                    // klist_devices, in the order they were added
  std::map<kobject*, std::unique_ptr<kobject>> glue_dirs;  // the <name> directory under each parent

  device_class() = default;
  device_class(const device_class&) = delete;
  device_class& operator=(const device_class&) = delete;
};

/// class_register(): -EEXIST when a class of that name is registered already.
int class_register(device_class* cls);
/// class_unregister(): its class devices must be gone by now.
void class_unregister(device_class* cls);

// drivers/base/core.c, the class side of device_add()/device_del().
/// get_device_parent() for a class device: the class's directory under the parent, made on
/// first use (class_dir_create_and_add); nullptr when sysfs refused it.
kobject* class_get_glue_dir(device* dev, device* parent);
/// cleanup_glue_dir(): the class directory goes when its last device has.
void class_cleanup_glue_dir(device* dev, kobject* glue);
/// device_add_class_symlinks() / device_remove_class_symlinks()
int device_add_class_symlinks(device* dev);
void device_remove_class_symlinks(device* dev);

}  // namespace vfiosim::kernel
