// The AER port service's set-up (drivers/pci/pcie/aer.c, v6.1 aer_enable_rootport()): when the
// pcieport driver binds a root port with an AER capability, the root port's error status is
// cleared, error reporting is enabled in Device Control of the root port and every device below
// it (set_downstream_devices_error_reporting), and the root port's error-message interrupts are
// enabled in Root Error Command. The AER interrupt handler and error recovery are not ported.
#pragma once

#include "vfio/linux/pci/pci_core.h"

namespace vfiosim::kernel {

/// aer_enable_rootport(); nothing for a device that is no root port or has no AER capability.
void aer_enable_rootport(PciCore& pci, pci_dev& rp);

}  // namespace vfiosim::kernel
