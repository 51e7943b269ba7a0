// fs/sysfs/{mount,dir,file,symlink}.c (v6.1): kobject directories, attribute files and links.
#include "vfio/linux/fs/sysfs/sysfs.h"

#include <map>
#include <memory>

#include "vfio/linux/lib/errname.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

namespace {

constexpr uint16_t kDirMode = 0755;  // S_IRWXU | S_IRUGO | S_IXUGO

// sysfs_warn_dup()
void warn_dup(const kernfs_node* parent, const std::string& name) {
  kernel_warn("WARNING", "sysfs: cannot create duplicate filename '" + kernfs_path(parent) + "/" + name + "'");
}

kernfs_node* dir_of(kobject* kobj) { return kobj ? kobj->sd.get() : sysfs_root().get(); }

}  // namespace

// sysfs_init(): the root of the tree.
const kernfs_node_ptr& sysfs_root() {
  static const kernfs_node_ptr root = kernfs_create_root();
  return root;
}

// kset_create_and_add() of the boot-time ksets: made on first use, then the same one.
kobject* sysfs_kset(const std::string& path) {
  static std::map<std::string, std::unique_ptr<kobject>> ksets;
  auto& slot = ksets[path];
  if (slot && slot->sd && slot->sd->active) return slot.get();
  const size_t slash = path.rfind('/');
  auto k = std::make_unique<kobject>();
  k->name = slash == std::string::npos ? path : path.substr(slash + 1);
  k->parent = slash == std::string::npos ? nullptr : sysfs_kset(path.substr(0, slash));
  int err = 0;
  k->sd = kernfs_find_and_get(dir_of(k->parent), k->name);
  if (!k->sd) k->sd = kernfs_create_dir(dir_of(k->parent), k->name, kDirMode, &err);
  slot = std::move(k);
  return slot.get();
}

// sysfs_create_dir_ns()
int sysfs_create_dir(kobject* kobj) {
  if (!kobj) return -EINVAL;
  kernfs_node* parent = kobj->parent ? kobj->parent->sd.get() : sysfs_root().get();
  if (!parent) return -ENOENT;
  int err = 0;
  kernfs_node_ptr kn = kernfs_create_dir(parent, kobj->name, kDirMode, &err);
  if (!kn) {
    if (err == -EEXIST) warn_dup(parent, kobj->name);
    return err;
  }
  kobj->sd = kn;
  return 0;
}

// sysfs_remove_dir(): kobj->sd is cleared first, then the subtree goes.
void sysfs_remove_dir(kobject* kobj) {
  kernfs_node_ptr kn = std::move(kobj->sd);
  kobj->sd.reset();
  if (kn) kernfs_remove(kn.get());
}

// sysfs_add_file_mode_ns(): the attribute's show and store bound to the kobject.
int sysfs_add_file_mode(kernfs_node* parent, kobject* kobj, const attribute* attr, uint16_t mode) {
  kernfs_ops ops;
  if (attr->show) ops.show = [kobj, attr](std::string& buf) { return attr->show(kobj, buf); };
  if (attr->store) ops.store = [kobj, attr](const std::string& buf) { return attr->store(kobj, buf); };
  int err = 0;
  if (!kernfs_create_file(parent, attr->name, mode, std::move(ops), &err) && err == -EEXIST)
    warn_dup(parent, attr->name);
  return err;
}

// sysfs_create_file_ns()
int sysfs_create_file(kobject* kobj, const attribute* attr) {
  if (!kobj || !kobj->sd || !attr) return -EINVAL;
  return sysfs_add_file_mode(kobj->sd.get(), kobj, attr, attr->mode);
}

// sysfs_remove_file_ns()
void sysfs_remove_file(kobject* kobj, const attribute* attr) {
  if (kobj && kobj->sd) kernfs_remove_by_name(kobj->sd.get(), attr->name);
}

// sysfs_do_create_link_sd(): -ENOENT when the target is not in sysfs.
static int do_create_link(kobject* kobj, kobject* target, const std::string& name, bool warn) {
  kernfs_node* parent = dir_of(kobj);
  if (!parent || !target || !target->sd) return -ENOENT;
  int err = 0;
  if (!kernfs_create_link(parent, name, target->sd, &err) && err == -EEXIST && warn) warn_dup(parent, name);
  return err;
}

// sysfs_create_link()
int sysfs_create_link(kobject* kobj, kobject* target, const std::string& name) {
  return do_create_link(kobj, target, name, true);
}

// sysfs_create_link_nowarn()
int sysfs_create_link_nowarn(kobject* kobj, kobject* target, const std::string& name) {
  return do_create_link(kobj, target, name, false);
}

// sysfs_remove_link()
void sysfs_remove_link(kobject* kobj, const std::string& name) {
  if (kernfs_node* parent = dir_of(kobj)) kernfs_remove_by_name(parent, name);
}

}  // namespace vfiosim::kernel
