#include "vfio/linux/drivers/pci/remove.h"

#include <vector>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

void pci_stop_and_remove_bus_device(PciCore& pci, PciDriverCore& drivers, pci_dev& dev) {
  if (dev.subordinate) {  // pci_stop_bus_device() / pci_remove_bus_device() of the children
    // References on every child before any removal sleeps: a PF's driver may take its VFs
    // (siblings on this bus) away meanwhile.
    const std::vector<pci_dev*> children = dev.subordinate->devices;
    for (pci_dev* c : children) pci_dev_get(c);
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      if (!(*it)->dev.dead) pci_stop_and_remove_bus_device(pci, drivers, **it);
    for (pci_dev* c : children) pci_dev_put(c);
  }
  kernel_warn("pci_info", dev.name() + ": removing");
  drivers.device_del(dev);  // device_release_driver(), then BUS_NOTIFY_DEL_DEVICE / _REMOVED_DEVICE
  pci.pci_destroy_dev(&dev);
}

}  // namespace vfiosim::kernel

namespace vfiosim::kernel {

void pci_stop_and_remove_bus_device_locked(PciCore& pci, PciDriverCore& drivers, pci_dev& dev) {
  pci_dev_get(&dev);
  {
    mutex_guard lock(pci.rescan_remove_lock());
    if (!dev.dev.dead) pci_stop_and_remove_bus_device(pci, drivers, dev);
  }
  pci_dev_put(&dev);
}

}  // namespace vfiosim::kernel
