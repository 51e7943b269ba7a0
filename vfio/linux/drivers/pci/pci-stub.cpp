#include "vfio/linux/drivers/pci/pci-stub.h"

#include <memory>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

void pci_stub_init(PciDriverCore& drivers) {
  auto drv = std::make_unique<pci_driver>();
  drv->name = "pci-stub";
  drv->id_table = [](const pci_dev&) { return false; };  // empty `ids`: driver_override only
  drv->probe = [](pci_dev& dev) {                         // pci_stub_probe()
    kernel_warn("pci_info", dev.name() + ": claimed by stub");
    return 0;
  };
  drv->driver_managed_dma = true;
  drivers.register_driver(std::move(drv));
}

}  // namespace vfiosim::kernel
