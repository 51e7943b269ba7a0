// The part of sysfs VFIO userspace reads and writes, computed from kernel state on each access:
//   /sys/bus/pci/devices/<BDF>/{vendor,device,class,subsystem_vendor,subsystem_device,
//                               driver_override,driver (link),iommu_group (link),
//                               sriov_{totalvfs,numvfs,offset,stride,vf_device,drivers_autoprobe},
//                               virtfnN (links, PF), physfn (link, VF)}
//   /sys/bus/pci/drivers/<driver>/{bind,unbind}   /sys/bus/pci/drivers_probe
//   /sys/kernel/iommu_groups/<N>/devices/<BDF> (links)
// Errors are the kernel's: a missing path -ENOENT, reading a write-only attribute -EACCES,
// bind/unbind/driver_override as their store functions return.
#pragma once

#include <string>
#include <vector>

#include "vfio/linux/driver/pci_driver.h"
#include "vfio/linux/iommu/iommu_group.h"
#include "vfio/linux/pci/iov.h"

namespace vfiosim::kernel {

struct SysfsResult {
  int err = 0;                       // 0 or -errno
  std::string value;                 // file contents (read) or link target (readlink)
  std::vector<std::string> entries;  // directory listing
};

class Sysfs {
 public:
  Sysfs(PciCore& pci, PciDriverCore& drivers, IommuGroups& groups) : pci_(pci), drivers_(drivers), groups_(groups) {}

  /// read(2) of a file; a symlink reads as -EISDIR like the directory it points to.
  SysfsResult read(const std::string& path) const;
  /// readlink(2) of a link; -EINVAL on a file or directory.
  SysfsResult readlink(const std::string& path) const;
  /// write(2): returns the bytes written or -errno in `err`.
  SysfsResult write(const std::string& path, const std::string& value);
  /// The entries of a directory (sorted), -ENOTDIR on a file.
  SysfsResult list(const std::string& path) const;
  /// SR-IOV attributes and links (sriov_*, virtfnN, physfn) come from here when set.
  void set_iov(PciIov* iov) { iov_ = iov; }

 private:
  pci_dev* device(const std::string& bdf) const;
  void rescan(pci_bus* bus);
  SysfsResult read_file(const std::string& path) const;  // a file's contents; -ENOENT for anything else
  PciCore& pci_;
  PciDriverCore& drivers_;
  IommuGroups& groups_;
  PciIov* iov_ = nullptr;
};

}  // namespace vfiosim::kernel
