// Removing PCI devices (drivers/pci/remove.c): what /sys/bus/pci/devices/<bdf>/remove and a
// hot-unplug do. Children below a bridge go first, deepest and last-added first; each device is
// unbound from its driver (which may block: vfio-pci waits for its users), announced to the bus
// notifiers (the IOMMU drops it from its group) and freed. The hardware stays where it is; a
// rescan (rescan.cpp) finds it again.
#pragma once

#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

/// pci_stop_and_remove_bus_device(): the caller holds pci_lock_rescan_remove().
void pci_stop_and_remove_bus_device(PciCore& pci, PciDriverCore& drivers, pci_dev& dev);
/// pci_stop_and_remove_bus_device_locked(): takes the rescan/remove lock; a device that another
/// removal took away while this one waited for it is left alone.
void pci_stop_and_remove_bus_device_locked(PciCore& pci, PciDriverCore& drivers, pci_dev& dev);

}  // namespace vfiosim::kernel
