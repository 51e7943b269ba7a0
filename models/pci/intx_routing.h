// The platform's INTx routing table (the firmware's ACPI _PRT, an ABI the kernel reads): for a
// device on the root bus, slot and pin go to IOAPIC line 16 + (slot + pin - 1) % 4. The root
// complex delivers Assert/Deassert_INTx by it; the kernel's pci_assign_irq() looks it up after
// swizzling a pin up to the root bus.
#pragma once

#include <cstdint>

namespace vfiosim::pci {

constexpr unsigned kIntxFirstLine = 16;
inline unsigned intx_line(uint8_t root_slot, unsigned pin) { return kIntxFirstLine + (root_slot + pin - 1) % 4; }

}  // namespace vfiosim::pci
