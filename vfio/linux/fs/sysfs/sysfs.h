// sysfs on kernfs (include/linux/sysfs.h, fs/sysfs/{dir,file,group,symlink}.c, v6.1): a kobject's
// directory, its attribute files and attribute groups (an optional subdirectory, is_visible to
// hide or re-mode an attribute), and symlinks between kobjects. Everything lives in one tree,
// sysfs_root(), whose top directories (/sys/devices, /sys/bus, /sys/class, /sys/kernel/...) are
// ksets made on first use, as devices_init(), buses_init() and classes_init() make them at boot.
// An attribute's show returns the bytes it wrote or -errno; its store the bytes it took or -errno,
// and the write(2) of the file returns exactly that.
// Not modelled: namespaces, bin attributes, sysfs_notify, uevents, kobject ktypes (an attribute
// carries its own show and store, as a device_attribute does).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vfio/linux/fs/kernfs/kernfs.h"

namespace vfiosim::kernel {

/// The sysfs half of a kobject: its name, its parent and its directory (kobj->sd).
struct kobject {
  std::string name;
  kobject* parent = nullptr;  // nullptr: the directory goes at the top of sysfs
  kernfs_node_ptr sd;         // set while the kobject is in sysfs (state_in_sysfs)
};

/// struct attribute with the show/store of its wrapper (device_attribute, bus_attribute, ...).
struct attribute {
  std::string name;
  uint16_t mode = S_IRUGO;
  std::function<long(kobject* kobj, std::string& buf)> show;
  std::function<long(kobject* kobj, const std::string& buf)> store;
};

/// struct attribute_group
struct attribute_group {
  std::string name;  // empty: the attributes go in the kobject's own directory
  /// The mode an attribute gets on this kobject (0 hides it); absent: the attribute's own mode.
  std::function<uint16_t(kobject* kobj, const attribute* attr, int n)> is_visible;
  std::vector<const attribute*> attrs;
};

/// The /sys tree (sysfs_init()'s kernfs root).
const kernfs_node_ptr& sysfs_root();
/// kset_create_and_add() of a top directory ("devices", "bus", "class", "kernel/iommu_groups"):
/// the same kobject every time.
kobject* sysfs_kset(const std::string& path);

/// sysfs_create_dir_ns(): the kobject's directory in its parent's (the top of sysfs without one);
/// -ENOENT when the parent has none, -EEXIST when the name is taken (warned, as sysfs_warn_dup).
int sysfs_create_dir(kobject* kobj);
/// sysfs_remove_dir(): the directory and everything in it.
void sysfs_remove_dir(kobject* kobj);
/// sysfs_create_file_ns() / sysfs_remove_file_ns()
int sysfs_create_file(kobject* kobj, const attribute* attr);
void sysfs_remove_file(kobject* kobj, const attribute* attr);
/// sysfs_add_file_mode_ns(): `attr` as a file of `parent` with `mode`, its show and store bound to
/// `kobj` (the group code's way in).
int sysfs_add_file_mode(kernfs_node* parent, kobject* kobj, const attribute* attr, uint16_t mode);
/// sysfs_create_group() / sysfs_remove_group(): -EINVAL without a directory; a failure removes
/// what was made. sysfs_create_groups() stops at the first failure and undoes the groups before.
int sysfs_create_group(kobject* kobj, const attribute_group* grp);
void sysfs_remove_group(kobject* kobj, const attribute_group* grp);
int sysfs_create_groups(kobject* kobj, const std::vector<const attribute_group*>& groups);
void sysfs_remove_groups(kobject* kobj, const std::vector<const attribute_group*>& groups);
/// sysfs_create_link(): a link `name` in kobj's directory (the top of sysfs for nullptr) to
/// target's; -ENOENT when either has no directory, -EEXIST (warned) when the name is taken.
int sysfs_create_link(kobject* kobj, kobject* target, const std::string& name);
/// sysfs_create_link_nowarn(): the same without the warning.
int sysfs_create_link_nowarn(kobject* kobj, kobject* target, const std::string& name);
/// sysfs_remove_link()
void sysfs_remove_link(kobject* kobj, const std::string& name);

}  // namespace vfiosim::kernel
