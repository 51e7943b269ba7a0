// The system-call side of /sys: sysfs is mounted at /sys, so a path below it is walked from the
// root of the sysfs tree (kernfs's VFS operations); anything else is not sysfs (-ENOENT).
#include "vfio/linux/fs/sysfs/file.h"

#include "vfio/linux/lib/errname.h"
#include "vfio/linux/fs/sysfs/sysfs.h"

namespace vfiosim::kernel {

namespace {

constexpr const char kMount[] = "/sys";

// The path inside the sysfs mount, or false for one outside it.
bool in_mount(const std::string& path, std::string& rel) {
  const std::string mount = kMount;
  if (path.compare(0, mount.size(), mount) != 0) return false;
  if (path.size() > mount.size() && path[mount.size()] != '/') return false;
  rel = path.substr(mount.size());
  return true;
}

SysfsResult error(long e) { return SysfsResult{static_cast<int>(e), {}, {}}; }

}  // namespace

SysfsResult Sysfs::read(const std::string& path) const {
  std::string rel, out;
  if (!in_mount(path, rel)) return error(-ENOENT);
  const long r = kernfs_vfs_read(sysfs_root(), rel, out);
  return r < 0 ? error(r) : SysfsResult{0, out, {}};
}

SysfsResult Sysfs::readlink(const std::string& path) const {
  std::string rel, out;
  if (!in_mount(path, rel)) return error(-ENOENT);
  const int r = kernfs_vfs_readlink(sysfs_root(), rel, out);
  return r < 0 ? error(r) : SysfsResult{0, out, {}};
}

SysfsResult Sysfs::write(const std::string& path, const std::string& value) {
  std::string rel;
  if (!in_mount(path, rel)) return error(-ENOENT);
  return error(kernfs_vfs_write(sysfs_root(), rel, value));
}

SysfsResult Sysfs::list(const std::string& path) const {
  std::string rel;
  std::vector<std::string> out;
  if (!in_mount(path, rel)) return error(-ENOENT);
  if (int r = kernfs_vfs_list(sysfs_root(), rel, out)) return error(r);
  return SysfsResult{0, {}, out};
}

}  // namespace vfiosim::kernel
