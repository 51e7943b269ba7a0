// pci-stub (drivers/pci/pci-stub.c): a host driver that claims a device and does nothing with
// it — no DMA API, so its device leaves the IOMMU group viable for VFIO, but it is not a VFIO
// driver, so the device is outside every vfio-pci device set. Its `ids` module parameter is not
// modelled; it binds through driver_override ("pci-stub").
#pragma once

#include "vfio/linux/drivers/pci/pci-driver.h"

namespace vfiosim::kernel {

/// pci_stub_init(): registers the driver.
void pci_stub_init(PciDriverCore& drivers);

}  // namespace vfiosim::kernel
