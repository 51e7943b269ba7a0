// What userspace's system calls on /sys see: a path walk over the sysfs tree (sysfs_root(), made
// by the driver core, the PCI code and the iommu core as the kernel makes it) with the errors of
// read(2), readlink(2), write(2) and getdents(2). Nothing here knows a path: a file's contents and
// a store's result are its attribute's, a link's target is where it points, relative as sysfs
// makes it. Errors: a missing path -ENOENT, reading a write-only attribute or writing a read-only
// one -EACCES, readlink of anything but a link -EINVAL, listing a file -ENOTDIR, reading or
// writing a directory (or a link to one) -EISDIR.
#pragma once

#include <string>
#include <vector>

namespace vfiosim::kernel {

struct SysfsResult {
  int err = 0;                       // 0 or -errno (a write: the bytes written)
  std::string value;                 // file contents (read) or link target (readlink)
  std::vector<std::string> entries;  // directory listing
};

class Sysfs {
 public:
  /// read(2) of a file; a symlink reads as what it points to (-EISDIR for a directory).
  SysfsResult read(const std::string& path) const;
  /// readlink(2) of a link; -EINVAL on a file or directory.
  SysfsResult readlink(const std::string& path) const;
  /// write(2): returns the bytes written or -errno in `err`.
  SysfsResult write(const std::string& path, const std::string& value);
  /// The entries of a directory (sorted), -ENOTDIR on a file.
  SysfsResult list(const std::string& path) const;
};

}  // namespace vfiosim::kernel
