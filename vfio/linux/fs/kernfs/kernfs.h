// The tree sysfs is made of (fs/kernfs/{dir,file,symlink}.c, v6.1): directory, attribute-file and
// symlink nodes, each with a name, a mode and a parent; a directory's children are kept sorted by
// name (the kernel's rbtree); a symlink holds a reference to its target node (kernfs_get), as the
// kernel does, so a target that is removed meanwhile is never freed under the link, only
// deactivated: it leaves its parent, its file operations are dropped (kernfs_drain) and a lookup
// through a link to it finds nothing.
// The VFS side (path walk, open/read/write permission checks, readlink, readdir) is here too,
// with the errors a system call would see: -ENOENT, -ENOTDIR, -EISDIR, -EACCES, -EINVAL, -ELOOP.
// Not modelled: namespaces (kernfs_ns), inode attributes beyond the mode, poll/notify, active
// references (a removed file's operations are simply gone), bin files, mmap.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vfiosim::kernel {

enum kernfs_node_type : unsigned { KERNFS_DIR = 0x1, KERNFS_FILE = 0x2, KERNFS_LINK = 0x4 };

// include/linux/stat.h permission groups sysfs uses (S_IWUSR is <sys/stat.h>'s).
constexpr uint16_t S_IRUGO = 0444;
constexpr uint16_t S_IXUGO = 0111;

/// struct kernfs_ops, reduced to what sysfs attributes use: seq_show and write.
struct kernfs_ops {
  /// Fills `buf`; returns its length or -errno (nullptr: the file cannot be read).
  std::function<long(std::string& buf)> show;
  /// Consumes `buf`; returns the bytes taken or -errno (nullptr: the file cannot be written).
  std::function<long(const std::string& buf)> store;
};

struct kernfs_node;
using kernfs_node_ptr = std::shared_ptr<kernfs_node>;

struct kernfs_node {
  std::string name;
  kernfs_node* parent = nullptr;  // nullptr for the root and for a removed node
  unsigned type = KERNFS_DIR;
  uint16_t mode = 0;
  bool active = true;             // false once kernfs_remove() took it out
  std::map<std::string, kernfs_node_ptr> children;  // dir.children
  kernfs_node_ptr target;         // symlink.target_kn
  kernfs_ops ops;                 // attr.ops
};

/// kernfs_create_root(): an empty directory that is the top of a tree.
kernfs_node_ptr kernfs_create_root();
/// kernfs_create_dir(): a directory `name` in `parent`; nullptr with -EEXIST in *err when the name
/// is taken, -ENOENT when the parent is not an active directory.
kernfs_node_ptr kernfs_create_dir(kernfs_node* parent, const std::string& name, uint16_t mode, int* err);
/// __kernfs_create_file()
kernfs_node_ptr kernfs_create_file(kernfs_node* parent, const std::string& name, uint16_t mode, kernfs_ops ops,
                                   int* err);
/// kernfs_create_link(): a symlink `name` in `parent` to `target`.
kernfs_node_ptr kernfs_create_link(kernfs_node* parent, const std::string& name, const kernfs_node_ptr& target,
                                   int* err);
/// kernfs_remove(): the node and everything below it, deactivated and taken out of the tree.
void kernfs_remove(kernfs_node* kn);
/// kernfs_remove_by_name(): -ENOENT when `parent` has no such child.
int kernfs_remove_by_name(kernfs_node* parent, const std::string& name);
/// kernfs_find_and_get(): the active child `name` of a directory, or nullptr.
kernfs_node_ptr kernfs_find_and_get(kernfs_node* parent, const std::string& name);
/// kernfs_get_target_path(): the relative path from directory `parent` to `target` ("../../x/y").
std::string kernfs_get_target_path(const kernfs_node* parent, const kernfs_node* target);
/// The absolute path of an active node below the root ("/bus/pci").
std::string kernfs_path(const kernfs_node* kn);

// The VFS side: what open(2)/read(2)/write(2)/readlink(2)/getdents(2) of a path below `root` see.
/// path_lookupat(): every link on the way is followed, the last one only when `follow` is set.
/// nullptr with -ENOENT (missing, or a link to a removed node), -ENOTDIR (a file used as a
/// directory) or -ELOOP (more than 40 links).
kernfs_node_ptr kernfs_lookup_path(const kernfs_node_ptr& root, const std::string& path, bool follow, int* err);
/// read(2) of a whole file: its length or -errno (-EISDIR, -EACCES without read permission).
long kernfs_vfs_read(const kernfs_node_ptr& root, const std::string& path, std::string& out);
/// write(2): the store's return or -errno (-EISDIR, -EACCES without write permission).
long kernfs_vfs_write(const kernfs_node_ptr& root, const std::string& path, const std::string& buf);
/// readlink(2): 0 with the relative target in `out`, -EINVAL when the node is not a link.
int kernfs_vfs_readlink(const kernfs_node_ptr& root, const std::string& path, std::string& out);
/// getdents(2) without "." and "..": the names, sorted; -ENOTDIR on a file.
int kernfs_vfs_list(const kernfs_node_ptr& root, const std::string& path, std::vector<std::string>& out);

}  // namespace vfiosim::kernel
