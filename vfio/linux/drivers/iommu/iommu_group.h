// IOMMU groups (drivers/iommu/iommu.c): the smallest sets of devices the IOMMU can isolate from
// each other, formed for PCI by pci_device_group() when each device is probed, bridges before the
// devices below them. This is the classic (v6.1) algorithm, spec pci-ccw.md A3.2. Members are
// struct devices of any bus (dev->iommu_group); only the PCI grouping looks inside them.
// In sysfs (iommu_group_sysfs.cpp) each group is /sys/kernel/iommu_groups/<id> with its type and
// reserved_regions attributes and a devices/ directory linking to every member, and each member links back to its
// group through its own iommu_group link.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vfio/linux/drivers/pci/pci.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

struct iommu_domain;
class IommuCore;
class IommuGroups;

struct iommu_group {
  int id = 0;
  std::vector<device*> devices;  // in the order they joined
  // Set by the iommu core (iommu.cpp) once an IOMMU driver manages the group.
  iommu_domain* default_domain = nullptr;
  iommu_domain* blocking_domain = nullptr;
  iommu_domain* domain = nullptr;  // the domain the group is attached to now
  const void* owner = nullptr;     // DMA ownership (iommu_group_claim_dma_owner)
  unsigned owner_cnt = 0;
  unsigned refcount = 1;           // the kobject reference the group's own existence holds
  IommuGroups* groups = nullptr;   // the groups it is one of (its reserved_regions ask their core)
  kobject kobj;                    // /sys/kernel/iommu_groups/<id>
  kobject devices_kobj;            // its devices/ directory
};

class IommuGroups {
 public:
  explicit IommuGroups(PciCore& pci) : pci_(pci) {}
  /// The groups' directories go with them (nothing in sysfs may reach a freed group).
  ~IommuGroups();
  IommuGroups(const IommuGroups&) = delete;
  IommuGroups& operator=(const IommuGroups&) = delete;

  /// Probes every device in device-add order (each bus's devices, then the buses below) and puts
  /// it in a group: iommu_probe_device -> iommu_group_get_for_dev -> pci_device_group.
  void probe_all();
  /// Probes one device (iommu_probe_device); a no-op if it already has a group.
  /// A device that is not on the PCI bus gets no group.
  void probe(device* dev);
  /// The device leaves its group (no IOMMU driver); an empty, unreferenced group goes.
  void remove(device* dev);

  /// The group pci_device_group() chooses for `dev` (an existing one or a new, empty one); the
  /// caller adds the device (iommu_group_get_for_dev -> ops->device_group). nullptr for a device
  /// not on the PCI bus.
  iommu_group* device_group(device* dev) { return pci_device_group(dev); }

  const std::vector<std::unique_ptr<iommu_group>>& groups() const { return groups_; }
  /// The iommu core while it exists (set and cleared by IommuCore): what reserved_regions asks.
  IommuCore* core = nullptr;
  /// iommu_group_alloc() for a group no IOMMU backs (VFIO's emulated and no-IOMMU groups): the
  /// next id; not probed by any IOMMU driver. iommu_group_release() when VFIO is done with it.
  iommu_group* iommu_group_alloc() { return alloc_group(); }
  void iommu_group_release(iommu_group* g);
  iommu_group* group_of(const device* dev) const { return dev->iommu_group; }

  // The sysfs side of membership (iommu_group_sysfs.cpp), for whoever adds or removes a member.
  /// iommu_group_add_device()'s links: the device's "iommu_group" and the group's devices/<name>.
  int iommu_group_sysfs_add_device(iommu_group* group, device* dev);
  /// The devices/<name> link alone: a member VFIO lists without pointing dev->iommu_group at the
  /// group (its no-IOMMU and emulated groups, see vfio_noiommu_group_alloc).
  int iommu_group_sysfs_link_member(iommu_group* group, device* dev);
  void iommu_group_sysfs_unlink_member(iommu_group* group, device* dev);
  /// iommu_group_remove_device()'s: both links go (a missing one is no error).
  void iommu_group_sysfs_remove_device(iommu_group* group, device* dev);

 private:
  iommu_group* pci_device_group(device* dev);
  iommu_group* get_pci_alias_group(pci_dev& dev, std::bitset<256>& devfns);
  iommu_group* get_pci_function_alias_group(pci_dev& dev, std::bitset<256>& devfns);
  iommu_group* alloc_group();
  void add_device(iommu_group* group, device* dev);
  int iommu_group_sysfs_add(iommu_group* group);
  void iommu_group_sysfs_release(iommu_group* group);

  PciCore& pci_;
  std::vector<std::unique_ptr<iommu_group>> groups_;
};

}  // namespace vfiosim::kernel
