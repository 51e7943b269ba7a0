#include "vfio/linux/pci/remove.h"

#include <vector>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

void pci_stop_and_remove_bus_device(PciCore& pci, PciDriverCore& drivers, pci_dev& dev) {
  if (dev.subordinate) {  // pci_stop_bus_device() / pci_remove_bus_device() of the children
    const std::vector<pci_dev*> children = dev.subordinate->devices;
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      if ((*it)->dev.dead) continue;  // a VF its PF's driver removed meanwhile
      pci_dev_get(*it);
      pci_stop_and_remove_bus_device(pci, drivers, **it);
      pci_dev_put(*it);
    }
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
