// SR-IOV on the kernel side: a port of drivers/pci/iov.c (v6.1). At enumeration sriov_init()
// reads a PF's SR-IOV capability and sizes its VF BARs into the IOV resources (7-12), which
// resource assignment places like BARs. pci_enable_sriov() programs NumVFs, sets VF Enable and
// VF MSE, waits the 100 ms the spec asks, and adds each VF as a pci_dev of its own (its BARs
// slices of the PF's IOV resources), which the bus notifiers (IOMMU groups, vfio-pci) see and a
// driver may probe; pci_disable_sriov() removes them in reverse and waits 1 s after clearing VF
// Enable, as the kernel does. The sysfs attributes sriov_totalvfs / sriov_numvfs /
// sriov_drivers_autoprobe / sriov_offset / sriov_stride / sriov_vf_device are declared here as an
// attribute group, and each VF is linked to its PF (physfn) and the PF to it (virtfn<n>).
//
// Not ported: VFs on a bus other than the PF's (virtfn_add_bus), function dependency links,
// pcibios hooks, VF resizable BARs, device_lock around sriov_numvfs_store.
#pragma once

#include <string>

#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

/// sriov_init(), from pci_init_capabilities(): a PF gets its pci_sriov and IOV resources.
void pci_iov_init(PciCore& pci, pci_dev& dev);
/// pci_iov_resource_size(): one VF's share of IOV resource `resno` (0 if none).
uint64_t pci_iov_resource_size(const pci_dev& dev, int resno);
/// pci_iov_update_resource(): programs VF BAR `resno - PCI_IOV_RESOURCES`.
void pci_iov_update_resource(PciCore& pci, pci_dev& dev, int resno);
/// pci_iov_virtfn_devfn(): devfn of VF `vf_id` (0-based).
unsigned pci_iov_virtfn_devfn(const pci_dev& dev, int vf_id);
/// pci_num_vf()
int pci_num_vf(const pci_dev& dev);
/// sriov_numvfs_store(): `count` bytes written, or -errno (EINVAL unparsable, ERANGE above
/// TotalVFs, ENOENT without a driver or sriov_configure, EBUSY when VFs are enabled already).
int sriov_numvfs_store(pci_dev& dev, const std::string& buf);
/// sriov_drivers_autoprobe_store(): `count`, or -EINVAL for what kstrtobool() refuses.
int sriov_drivers_autoprobe_store(pci_dev& dev, const std::string& buf);
/// sriov_pf_dev_attr_group: sriov_{totalvfs,numvfs,offset,stride,vf_device,drivers_autoprobe},
/// visible on a PF only; one of pci_bus_type's dev_groups (pci_sysfs.h).
extern const attribute_group sriov_pf_dev_attr_group;

class PciIov {
 public:
  PciIov(PciCore& pci, PciDriverCore& drivers) : pci_(pci), drivers_(drivers) {}

  /// pci_enable_sriov() -> sriov_enable(): 0 or -errno (-EINVAL for a bad count or VFs already
  /// enabled, -ENOMEM when the VF BARs have no resources, -ENODEV without SR-IOV).
  int pci_enable_sriov(pci_dev& dev, int nr_virtfn);
  /// pci_disable_sriov() -> sriov_disable()
  void pci_disable_sriov(pci_dev& dev);

 private:
  int pci_iov_add_virtfn(pci_dev& dev, int id);
  void pci_iov_remove_virtfn(pci_dev& dev, int id);
  void pci_iov_sysfs_link(pci_dev& dev, pci_dev& virtfn, int id);

  PciCore& pci_;
  PciDriverCore& drivers_;
};

}  // namespace vfiosim::kernel
