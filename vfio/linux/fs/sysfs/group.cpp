// fs/sysfs/group.c (v6.1): attribute groups, with is_visible deciding each attribute's mode.
#include "vfio/linux/lib/errname.h"
#include "vfio/linux/fs/sysfs/sysfs.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

namespace {

// remove_files()
void remove_files(kernfs_node* parent, const attribute_group* grp) {
  for (const attribute* attr : grp->attrs) kernfs_remove_by_name(parent, attr->name);
}

// create_files(): an attribute is_visible gives mode 0 is left out; a failure removes the files
// made so far.
int create_files(kernfs_node* parent, kobject* kobj, const attribute_group* grp) {
  int error = 0;
  int i = 0;
  for (const attribute* attr : grp->attrs) {
    uint16_t mode = attr->mode;
    if (grp->is_visible) {
      mode = grp->is_visible(kobj, attr, i);
      if (!mode) {
        ++i;
        continue;
      }
    }
    ++i;
    error = sysfs_add_file_mode(parent, kobj, attr, mode & 0664);  // S_IRWXUGO minus execute
    if (error) break;
  }
  if (error) remove_files(parent, grp);
  return error;
}

// internal_create_group() without the update path.
int internal_create_group(kobject* kobj, const attribute_group* grp) {
  if (!kobj || !grp) return -EINVAL;
  if (!kobj->sd) return -EINVAL;
  kernfs_node_ptr kn = kobj->sd;
  if (!grp->name.empty()) {
    int err = 0;
    kn = kernfs_create_dir(kobj->sd.get(), grp->name, 0755, &err);
    if (!kn) {
      if (err == -EEXIST)
        kernel_warn("WARNING", "sysfs: cannot create duplicate filename '" + kernfs_path(kobj->sd.get()) + "/" +
                                   grp->name + "'");
      return err;
    }
  }
  const int error = create_files(kn.get(), kobj, grp);
  if (error && !grp->name.empty()) kernfs_remove(kn.get());
  return error;
}

}  // namespace

// sysfs_create_group()
int sysfs_create_group(kobject* kobj, const attribute_group* grp) { return internal_create_group(kobj, grp); }

// sysfs_remove_group(): a named group's directory goes with its files; a missing one is warned.
void sysfs_remove_group(kobject* kobj, const attribute_group* grp) {
  if (!kobj || !kobj->sd || !grp) return;
  kernfs_node_ptr kn = kobj->sd;
  if (!grp->name.empty()) {
    kn = kernfs_find_and_get(kobj->sd.get(), grp->name);
    if (!kn) {
      kernel_warn("WARNING", "sysfs group '" + grp->name + "' not found for kobject '" + kobj->name + "'");
      return;
    }
  }
  remove_files(kn.get(), grp);
  if (!grp->name.empty()) kernfs_remove(kn.get());
}

// sysfs_create_groups() -> internal_create_groups(): the groups made before a failure go again.
int sysfs_create_groups(kobject* kobj, const std::vector<const attribute_group*>& groups) {
  for (size_t i = 0; i < groups.size(); ++i) {
    if (int error = sysfs_create_group(kobj, groups[i])) {
      while (i--) sysfs_remove_group(kobj, groups[i]);
      return error;
    }
  }
  return 0;
}

// sysfs_remove_groups()
void sysfs_remove_groups(kobject* kobj, const std::vector<const attribute_group*>& groups) {
  for (const attribute_group* grp : groups) sysfs_remove_group(kobj, grp);
}

}  // namespace vfiosim::kernel
