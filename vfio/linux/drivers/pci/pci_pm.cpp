// PCI power states through the PM capability (drivers/pci/pci.c: pci_set_power_state,
// pci_raw_set_power_state, pci_dev_d3_sleep). D3cold, platform power (ACPI) and the bridge
// handling of pci_power_up are not modelled.
#include <linux/pci_regs.h>

#include <cerrno>

#include <systemc>

#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

int PciCore::pci_set_power_state(pci_dev& dev, int state) {
  if (state < PCI_D0 || state > PCI_D3hot) return -EINVAL;  // D3cold needs the platform
  if (dev.current_state == state) return 0;
  if (!dev.pm_cap) return state == PCI_D0 ? 0 : -EIO;
  if ((state == PCI_D1 && !dev.d1_support) || (state == PCI_D2 && !dev.d2_support)) return -EIO;
  // Only D0 may go to D1/D2/D3hot and only to a deeper state, except through D0.
  if (dev.current_state > state && state != PCI_D0) return -EINVAL;
  uint32_t pmcsr = read_config(dev, dev.pm_cap + PCI_PM_CTRL, 2);
  pmcsr &= ~static_cast<uint32_t>(PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_STATUS);  // PME_Status is RW1C
  pmcsr |= static_cast<uint32_t>(state);
  write_config(dev, dev.pm_cap + PCI_PM_CTRL, 2, pmcsr);
  // Mandatory delays of the PCI PM spec (Table 5-6): 10 ms for D3hot, 200 us for D2.
  if (state == PCI_D3hot || dev.current_state == PCI_D3hot)
    sc_core::wait(dev.d3hot_delay_ms, sc_core::SC_MS);
  else if (state == PCI_D2 || dev.current_state == PCI_D2)
    sc_core::wait(200, sc_core::SC_US);
  dev.current_state = static_cast<int>(read_config(dev, dev.pm_cap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK);
  return dev.current_state == state ? 0 : -EIO;
}

}  // namespace vfiosim::kernel
