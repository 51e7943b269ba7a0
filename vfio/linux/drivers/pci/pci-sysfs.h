// PCI attributes in sysfs (drivers/pci/pci-sysfs.c, v6.1), declared as attribute groups that
// pci_bus_type carries, so the driver core makes them with each device and each bus:
//   /sys/bus/pci/rescan (pci_bus_groups)
//   /sys/devices/.../<BDF>/{vendor,device,subsystem_vendor,subsystem_device,class,driver_override}
//   (pci_dev_group), {remove,rescan} (pci_dev_hp_attr_group), and the PF's sriov_* files
//   (sriov_pf_dev_attr_group, iov.cpp).
// Stores return the kernel's errors: driver_override -EINVAL for a value of a page or more; remove,
// rescan -EINVAL for what kstrtoul() refuses.
// Not modelled: the other attributes of pci_dev_attrs (resource, irq, modalias, enable, ...), the
// config/rom/reset/vpd files, and pci_dev_type (its groups are the bus's here).
#pragma once

#include <vector>

#include "vfio/linux/drivers/base/core.h"

namespace vfiosim::kernel {

/// pci_bus_groups: the bus's own attributes.
std::vector<const attribute_group*> pci_bus_groups();
/// pci_dev_groups with pci_dev_attr_groups: every PCI device's attribute groups.
std::vector<const attribute_group*> pci_dev_groups();

}  // namespace vfiosim::kernel
