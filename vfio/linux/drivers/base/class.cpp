#include "vfio/linux/drivers/base/class.h"

#include <algorithm>

#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

// class_register() -> __class_register(): the class's kset in /sys/class.
int class_register(device_class* cls) {
  if (cls->registered) return -EEXIST;
  cls->subsys = kobject{cls->name, sysfs_kset("class"), nullptr};
  if (int error = sysfs_create_dir(&cls->subsys)) return error;  // kset_register()
  cls->registered = true;
  return 0;
}

// class_unregister()
void class_unregister(device_class* cls) {
  if (!cls->registered) return;
  if (!cls->devices.empty()) kernel_warn("WARNING", "class '" + cls->name + "' unregistered with devices");
  for (auto& [parent, glue] : cls->glue_dirs) sysfs_remove_dir(glue.get());
  cls->glue_dirs.clear();
  sysfs_remove_dir(&cls->subsys);
  cls->registered = false;
}

// get_device_parent(), the class case: the parent's (or /sys/devices/virtual's) directory named
// after the class, shared by the class's devices there.
kobject* class_get_glue_dir(device* dev, device* parent) {
  device_class* cls = dev->dev_class;
  kobject* parent_kobj = parent ? &parent->sysfs : sysfs_kset("devices/virtual");
  if (parent && parent->dev_class) return &parent->sysfs;  // a class device below another: no glue
  auto& glue = cls->glue_dirs[parent_kobj];
  if (glue && glue->sd && glue->sd->active) return glue.get();
  glue = std::make_unique<kobject>(kobject{cls->name, parent_kobj, nullptr});
  if (sysfs_create_dir(glue.get())) {
    cls->glue_dirs.erase(parent_kobj);
    return nullptr;
  }
  return glue.get();
}

// cleanup_glue_dir(): only a glue directory left empty goes.
void class_cleanup_glue_dir(device* dev, kobject* glue) {
  device_class* cls = dev->dev_class;
  if (!cls || !glue || !glue->sd || !glue->sd->children.empty()) return;
  for (auto it = cls->glue_dirs.begin(); it != cls->glue_dirs.end(); ++it)
    if (it->second.get() == glue) {
      sysfs_remove_dir(glue);
      cls->glue_dirs.erase(it);
      return;
    }
}

// device_add_class_symlinks(): "subsystem" to the class, "device" to the parent, and the
// class's link to the device; a failure takes back the ones made.
int device_add_class_symlinks(device* dev) {
  device_class* cls = dev->dev_class;
  if (!cls) return 0;
  int error = sysfs_create_link(&dev->sysfs, &cls->subsys, "subsystem");
  if (error) return error;
  if (dev->parent) {
    error = sysfs_create_link(&dev->sysfs, &dev->parent->sysfs, "device");
    if (error) {
      sysfs_remove_link(&dev->sysfs, "subsystem");
      return error;
    }
  }
  error = sysfs_create_link(&cls->subsys, &dev->sysfs, dev_name(dev));
  if (error) {
    if (dev->parent) sysfs_remove_link(&dev->sysfs, "device");
    sysfs_remove_link(&dev->sysfs, "subsystem");
    return error;
  }
  cls->devices.push_back(dev);  // klist_add_tail(knode_class), done at the end of device_add()
  return 0;
}

// device_remove_class_symlinks()
void device_remove_class_symlinks(device* dev) {
  device_class* cls = dev->dev_class;
  if (!cls) return;
  auto& list = cls->devices;
  list.erase(std::remove(list.begin(), list.end(), dev), list.end());
  if (dev->parent) sysfs_remove_link(&dev->sysfs, "device");
  sysfs_remove_link(&dev->sysfs, "subsystem");
  sysfs_remove_link(&cls->subsys, dev_name(dev));
}

}  // namespace vfiosim::kernel
