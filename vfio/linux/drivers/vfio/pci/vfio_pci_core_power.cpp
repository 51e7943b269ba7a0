// vfio-pci power states (vfio_pci_core.c, v6.1): vfio_pci_set_power_state() with the config
// save on the way to D3hot and the restore on the way back for devices without No_Soft_Reset,
// and __vfio_pci_memory_enabled(), which gates BAR access and mmap faults. Runtime PM of the
// vfio-pci driver itself (low-power entry features, D3cold) is not ported.
#include <linux/pci_regs.h>

#include <cerrno>

#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

namespace vfiosim::kernel {

bool VfioPci::memory_enabled(const vfio_pci_core_device& v) { return v.config && v.config->memory_enabled(); }

int VfioPci::set_power_state(vfio_pci_core_device& v, int state) {
  pci_dev& dev = *v.pdev;
  if (dev.sriov && dev.sriov->num_VFs && state > PCI_D0) return -EBUSY;  // PFs with VFs stay in D0
  bool needs_save = false, needs_restore = false;
  if (v.needs_pm_restore) {
    if (dev.current_state < PCI_D3hot && state >= PCI_D3hot) {
      v.pm_save = std::make_unique<pci_saved_state>(save_state(dev));  // pci_save_state()
      needs_save = true;
    }
    if (dev.current_state >= PCI_D3hot && state <= PCI_D0) needs_restore = true;
  }
  const int ret = pci_.pci_set_power_state(dev, state);
  if (!ret) {
    if (needs_save && dev.current_state < PCI_D3hot) {
      v.pm_save.reset();  // D3hot did not happen
    } else if (needs_restore && v.pm_save) {  // pci_load_and_free_saved_state() + pci_restore_state()
      restore_state(dev, *v.pm_save);
      v.pm_save.reset();
    }
  }
  return ret;
}

}  // namespace vfiosim::kernel
