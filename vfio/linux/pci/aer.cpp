#include "vfio/linux/pci/aer.h"

#include <linux/pci_regs.h>

namespace vfiosim::kernel {

namespace {
// pci_enable_pcie_error_reporting() on `dev` and everything below it.
void enable_reporting_below(PciCore& pci, pci_dev& dev) {
  if (dev.is_pcie()) {
    const int reg = dev.pcie_cap + PCI_EXP_DEVCTL;
    const uint32_t ctl = pci.read_config(dev, reg, 2);
    pci.write_config(dev, reg, 2,
                     ctl | PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE);
  }
  if (dev.subordinate)
    for (pci_dev* child : dev.subordinate->devices) enable_reporting_below(pci, *child);
}
}  // namespace

void aer_enable_rootport(PciCore& pci, pci_dev& rp) {
  if (!rp.is_pcie() || rp.pcie_type() != PCI_EXP_TYPE_ROOT_PORT) return;
  const int aer = pci.find_ext_capability(rp.bus->number, rp.devfn, PCI_EXT_CAP_ID_ERR);
  if (!aer) return;
  // Clear what firmware left: Root Error Status, correctable and uncorrectable status (RW1C).
  pci.write_config(rp, aer + PCI_ERR_ROOT_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_ROOT_STATUS, 4));
  pci.write_config(rp, aer + PCI_ERR_COR_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_COR_STATUS, 4));
  pci.write_config(rp, aer + PCI_ERR_UNCOR_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_UNCOR_STATUS, 4));
  enable_reporting_below(pci, rp);
  const uint32_t cmd = pci.read_config(rp, aer + PCI_ERR_ROOT_COMMAND, 4);
  pci.write_config(rp, aer + PCI_ERR_ROOT_COMMAND, 4,
                   cmd | PCI_ERR_ROOT_CMD_COR_EN | PCI_ERR_ROOT_CMD_NONFATAL_EN | PCI_ERR_ROOT_CMD_FATAL_EN);
}

}  // namespace vfiosim::kernel
