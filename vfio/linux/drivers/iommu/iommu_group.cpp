#include "vfio/linux/drivers/iommu/iommu_group.h"

#include <algorithm>

#include "vfio/linux/drivers/pci/pci_acs.h"

namespace vfiosim::kernel {

iommu_group* IommuGroups::alloc_group() {  // iommu_group_alloc
  groups_.push_back(std::make_unique<iommu_group>());
  int id = 0;  // ida_alloc(): the lowest free id
  for (bool taken = true; taken; ++id) {
    taken = false;
    for (const auto& g : groups_) taken |= g->id == id && g != groups_.back();
    if (!taken) break;
  }
  groups_.back()->id = id;
  groups_.back()->groups = this;
  iommu_group_sysfs_add(groups_.back().get());  // its directory, devices/ and attributes
  return groups_.back().get();
}

IommuGroups::~IommuGroups() {
  for (const auto& g : groups_) iommu_group_sysfs_release(g.get());
}

// iommu_group_release(): the kobject's last put; its directory goes with it.
void IommuGroups::iommu_group_release(iommu_group* g) {
  for (auto it = groups_.begin(); it != groups_.end(); ++it)
    if (it->get() == g) {
      iommu_group_sysfs_release(g);
      groups_.erase(it);
      return;
    }
}

// iommu_group_add_device(): the links first, then on the group's list.
void IommuGroups::add_device(iommu_group* group, device* dev) {
  iommu_group_sysfs_add_device(group, dev);
  group->devices.push_back(dev);
  dev->iommu_group = group;
}

// get_pci_alias_group(): the group of `dev` or of any DMA alias on its bus (either direction),
// following aliases' non-isolated sibling functions too; `devfns` stops loops.
iommu_group* IommuGroups::get_pci_alias_group(pci_dev& dev, std::bitset<256>& devfns) {
  if (devfns.test(dev.devfn & 0xff)) return nullptr;
  devfns.set(dev.devfn & 0xff);
  if (dev.dev.iommu_group) return dev.dev.iommu_group;
  for (const auto& tmp : pci_.devices()) {
    if (tmp == &dev || tmp->bus != dev.bus) continue;
    if (pci_devs_are_dma_aliases(dev, *tmp)) {
      if (iommu_group* g = get_pci_alias_group(*tmp, devfns)) return g;
      if (iommu_group* g = get_pci_function_alias_group(*tmp, devfns)) return g;
    }
  }
  return nullptr;
}

// get_pci_function_alias_group(): a non-isolated multi-function device shares the group of its
// non-isolated sibling functions.
iommu_group* IommuGroups::get_pci_function_alias_group(pci_dev& dev, std::bitset<256>& devfns) {
  if (!dev.multifunction || pci_acs_enabled(pci_, dev, REQ_ACS_FLAGS)) return nullptr;
  for (const auto& tmp : pci_.devices()) {
    if (tmp == &dev || tmp->bus != dev.bus || tmp->slot() != dev.slot() ||
        pci_acs_enabled(pci_, *tmp, REQ_ACS_FLAGS))
      continue;
    if (iommu_group* g = get_pci_alias_group(*tmp, devfns)) return g;
  }
  return nullptr;
}

// pci_device_group() (drivers/iommu/iommu.c, v6.1): for PCI devices only; the kernel WARNs and
// fails (-EINVAL) for any other, here that is no group.
iommu_group* IommuGroups::pci_device_group(device* dev) {
  if (!dev_is_pci(dev)) return nullptr;
  pci_dev& start = *to_pci_dev(dev);
  // 1. The alias walk: stop at the first alias that already has a group.
  pci_dev* pdev = &start;
  iommu_group* found = nullptr;
  if (pci_for_each_dma_alias(start, [&](pci_dev& d, uint16_t) {
        pdev = &d;
        found = d.dev.iommu_group;
        return found ? 1 : 0;
      }))
    return found;
  // 2. Up the tree while the path to the root does not isolate.
  for (pci_bus* bus = pdev->bus; bus->parent; bus = bus->parent) {
    if (!bus->self) continue;
    if (pci_acs_path_enabled(pci_, *bus->self, nullptr, REQ_ACS_FLAGS)) break;
    pdev = bus->self;
    if (pdev->dev.iommu_group) return pdev->dev.iommu_group;
  }
  // 3 and 4. Aliases on the same bus, then non-isolated sibling functions.
  std::bitset<256> devfns;
  if (iommu_group* g = get_pci_alias_group(*pdev, devfns)) return g;
  if (iommu_group* g = get_pci_function_alias_group(*pdev, devfns)) return g;
  // 5. A new group.
  return alloc_group();
}

// iommu_probe_device() -> iommu_group_get_for_dev() without an IOMMU driver.
void IommuGroups::probe(device* dev) {
  if (dev->iommu_group) return;
  if (iommu_group* g = pci_device_group(dev)) add_device(g, dev);
}

// iommu_release_device() -> iommu_group_remove_device() without an IOMMU driver.
void IommuGroups::remove(device* dev) {
  iommu_group* g = dev->iommu_group;
  if (!g) return;
  g->devices.erase(std::remove(g->devices.begin(), g->devices.end(), dev), g->devices.end());
  iommu_group_sysfs_remove_device(g, dev);
  dev->iommu_group = nullptr;
  if (g->devices.empty() && g->refcount <= 1) iommu_group_release(g);
}

void IommuGroups::probe_all() {
  // pci_bus_add_devices(): the devices of a bus, then the buses below, depth first.
  auto add_bus = [&](auto&& self, pci_bus* bus) -> void {
    for (pci_dev* dev : bus->devices) probe(&dev->dev);
    for (pci_dev* dev : bus->devices)
      if (dev->subordinate) self(self, dev->subordinate);
  };
  add_bus(add_bus, pci_.root_bus());
}

}  // namespace vfiosim::kernel
