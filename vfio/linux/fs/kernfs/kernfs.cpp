#include "vfio/linux/fs/kernfs/kernfs.h"

#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

namespace {

constexpr int kMaxSymlinks = 40;  // MAXSYMLINKS

bool is_active_dir(const kernfs_node* kn) { return kn && kn->active && kn->type == KERNFS_DIR; }

// kernfs_new_node() + kernfs_add_one(): -ENOENT unless the parent is an active directory,
// -EEXIST when the name is taken.
kernfs_node_ptr add_one(kernfs_node* parent, const std::string& name, unsigned type, uint16_t mode, int* err) {
  int ret = 0;
  kernfs_node_ptr kn;
  if (!is_active_dir(parent)) ret = -ENOENT;
  else if (name.empty() || name.find('/') != std::string::npos) ret = -EINVAL;
  else if (parent->children.count(name)) ret = -EEXIST;
  else {
    kn = std::make_shared<kernfs_node>();
    kn->name = name;
    kn->type = type;
    kn->mode = mode;
    kn->parent = parent;
    parent->children[name] = kn;
  }
  if (err) *err = ret;
  return kn;
}

// __kernfs_remove() for one subtree: children first, each deactivated (kernfs_drain drops the
// operations, so nothing of the owner is called again) and unlinked from its parent.
void deactivate(kernfs_node* kn) {
  for (auto& [name, child] : kn->children) deactivate(child.get());
  kn->children.clear();
  kn->active = false;
  kn->ops = {};
  kn->target.reset();  // kernfs_put() of a link's target
  kn->parent = nullptr;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const std::string part = path.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return parts;
}

}  // namespace

// kernfs_create_root()
kernfs_node_ptr kernfs_create_root() {
  auto root = std::make_shared<kernfs_node>();
  root->type = KERNFS_DIR;
  root->mode = S_IRUGO | S_IXUGO | S_IWUSR;
  return root;
}

// kernfs_create_dir_ns()
kernfs_node_ptr kernfs_create_dir(kernfs_node* parent, const std::string& name, uint16_t mode, int* err) {
  return add_one(parent, name, KERNFS_DIR, mode, err);
}

// __kernfs_create_file()
kernfs_node_ptr kernfs_create_file(kernfs_node* parent, const std::string& name, uint16_t mode, kernfs_ops ops,
                                   int* err) {
  kernfs_node_ptr kn = add_one(parent, name, KERNFS_FILE, mode, err);
  if (kn) kn->ops = std::move(ops);
  return kn;
}

// kernfs_create_link(): the link holds a reference to its target.
kernfs_node_ptr kernfs_create_link(kernfs_node* parent, const std::string& name, const kernfs_node_ptr& target,
                                   int* err) {
  if (!target || !target->active) {
    if (err) *err = -ENOENT;
    return nullptr;
  }
  kernfs_node_ptr kn = add_one(parent, name, KERNFS_LINK, S_IRUGO | S_IWUSR | S_IXUGO, err);
  if (kn) kn->target = target;
  return kn;
}

// kernfs_remove(): the node leaves its parent; the subtree is deactivated. The node itself lives
// on while someone (a kobject, a link) still holds it.
void kernfs_remove(kernfs_node* kn) {
  if (!kn || !kn->active) return;
  kernfs_node_ptr keep;
  if (kn->parent) {
    auto it = kn->parent->children.find(kn->name);
    if (it != kn->parent->children.end() && it->second.get() == kn) {
      keep = it->second;
      kn->parent->children.erase(it);
    }
  }
  deactivate(kn);
}

// kernfs_remove_by_name_ns()
int kernfs_remove_by_name(kernfs_node* parent, const std::string& name) {
  kernfs_node_ptr kn = kernfs_find_and_get(parent, name);
  if (!kn) return -ENOENT;
  kernfs_remove(kn.get());
  return 0;
}

// kernfs_find_and_get_ns()
kernfs_node_ptr kernfs_find_and_get(kernfs_node* parent, const std::string& name) {
  if (!is_active_dir(parent)) return nullptr;
  auto it = parent->children.find(name);
  return it == parent->children.end() ? nullptr : it->second;
}

// kernfs_get_target_path(): up from `parent` with "../" until a directory that is an ancestor of
// the target, then down to the target by name.
std::string kernfs_get_target_path(const kernfs_node* parent, const kernfs_node* target) {
  std::string up;
  const kernfs_node* base = parent;
  while (base && base->parent) {
    const kernfs_node* kn = target->parent;
    while (kn && kn->parent && base != kn) kn = kn->parent;
    if (base == kn) break;
    up += "../";
    base = base->parent;
  }
  std::string down;
  for (const kernfs_node* kn = target; kn && kn != base && kn->parent; kn = kn->parent)
    down = down.empty() ? kn->name : kn->name + "/" + down;
  return up + down;
}

std::string kernfs_path(const kernfs_node* kn) {
  std::string path;
  for (; kn && kn->parent; kn = kn->parent) path = "/" + kn->name + path;
  return path.empty() ? "/" : path;
}

// path_lookupat() / link_path_walk(): each component in turn; a link met before the last
// component, or at the last when `follow` is set, continues at its target.
kernfs_node_ptr kernfs_lookup_path(const kernfs_node_ptr& root, const std::string& path, bool follow, int* err) {
  const auto parts = split(path);
  kernfs_node_ptr kn = root;
  int links = 0;
  int ret = 0;
  for (size_t i = 0; i < parts.size() && !ret; ++i) {
    if (kn->type != KERNFS_DIR) {
      ret = -ENOTDIR;
      break;
    }
    if (parts[i] == "..") {
      if (kn != root && kn->parent) kn = kernfs_find_and_get(kn->parent->parent, kn->parent->name);
      if (!kn) kn = root;  // the parent is the root, which no directory lists
      continue;
    }
    kernfs_node_ptr next = kernfs_find_and_get(kn.get(), parts[i]);
    if (!next) {
      ret = -ENOENT;
      break;
    }
    const bool last = i + 1 == parts.size();
    while (next->type == KERNFS_LINK && (!last || follow)) {
      if (++links > kMaxSymlinks) {
        ret = -ELOOP;
        break;
      }
      next = next->target;
      if (!next || !next->active) {
        ret = -ENOENT;
        break;
      }
    }
    if (!ret) kn = next;
  }
  if (err) *err = ret;
  return ret ? nullptr : kn;
}

// vfs_read() of a sysfs attribute: kernfs_fop_open() refuses read access to a file that has no
// read permission or no show (-EACCES); a directory cannot be read (-EISDIR).
long kernfs_vfs_read(const kernfs_node_ptr& root, const std::string& path, std::string& out) {
  int err = 0;
  kernfs_node_ptr kn = kernfs_lookup_path(root, path, true, &err);
  if (!kn) return err;
  if (kn->type == KERNFS_DIR) return -EISDIR;
  if (!(kn->mode & S_IRUGO) || !kn->ops.show) return -EACCES;
  out.clear();
  const auto show = kn->ops.show;  // held for the call: a show may see its file removed meanwhile
  return show(out);
}

// vfs_write(): kernfs_fop_open() refuses write access without write permission or a store.
long kernfs_vfs_write(const kernfs_node_ptr& root, const std::string& path, const std::string& buf) {
  int err = 0;
  kernfs_node_ptr kn = kernfs_lookup_path(root, path, true, &err);
  if (!kn) return err;
  if (kn->type == KERNFS_DIR) return -EISDIR;
  if (!(kn->mode & 0222) || !kn->ops.store) return -EACCES;
  if (buf.empty()) return 0;  // sysfs_kf_write(): nothing to store
  const auto store = kn->ops.store;  // held for the call: a store may remove its own file (remove)
  return store(buf);
}

// vfs_readlink() -> kernfs_iop_get_link(): -EINVAL for anything but a link.
int kernfs_vfs_readlink(const kernfs_node_ptr& root, const std::string& path, std::string& out) {
  int err = 0;
  kernfs_node_ptr kn = kernfs_lookup_path(root, path, false, &err);
  if (!kn) return err;
  if (kn->type != KERNFS_LINK) return -EINVAL;
  if (!kn->target || !kn->parent) return -ENOENT;
  out = kernfs_get_target_path(kn->parent, kn->target.get());
  return 0;
}

// iterate_dir() -> kernfs_fop_readdir(): -ENOTDIR on a file.
int kernfs_vfs_list(const kernfs_node_ptr& root, const std::string& path, std::vector<std::string>& out) {
  int err = 0;
  kernfs_node_ptr kn = kernfs_lookup_path(root, path, true, &err);
  if (!kn) return err;
  if (kn->type != KERNFS_DIR) return -ENOTDIR;
  out.clear();
  for (const auto& [name, child] : kn->children) out.push_back(name);
  return 0;
}

}  // namespace vfiosim::kernel
