// The expansion ROM as drivers/pci/rom.c (v6.1) handles it: pci_enable_rom / pci_disable_rom
// write the ROM BAR's address and enable bit, pci_map_rom enables it and finds the true size of
// the images behind it (pci_get_rom_size: 0x55AA headers, "PCIR" structures, the last-image bit),
// pci_unmap_rom turns decode off again. Every access is a config or MMIO access of the CPU.
// Not ported: shadow ROMs (IORESOURCE_ROM_SHADOW), ROM BARs left enabled by firmware
// (IORESOURCE_ROM_ENABLE), pci_assign_resource for a ROM without an address.
#include <linux/pci_regs.h>

#include <cerrno>
#include <cstdio>

#include "vfio/linux/kernel/sync.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

// pci_enable_rom(): address and enable bit together (some ROM BARs read zero while disabled).
int PciCore::pci_enable_rom(pci_dev& dev) {
  const resource& res = dev.res[PCI_ROM_RESOURCE];
  if (!res.flags || (res.flags & IORESOURCE_UNSET)) return -1;
  uint32_t rom_addr = read_config(dev, PCI_ROM_ADDRESS, 4);
  rom_addr &= ~static_cast<uint32_t>(PCI_ROM_ADDRESS_MASK);
  rom_addr |= static_cast<uint32_t>(res.start) | PCI_ROM_ADDRESS_ENABLE;
  write_config(dev, PCI_ROM_ADDRESS, 4, rom_addr);
  return 0;
}

// pci_disable_rom()
void PciCore::pci_disable_rom(pci_dev& dev) {
  const uint32_t rom_addr = read_config(dev, PCI_ROM_ADDRESS, 4);
  write_config(dev, PCI_ROM_ADDRESS, 4, rom_addr & ~static_cast<uint32_t>(PCI_ROM_ADDRESS_ENABLE));
}

// pci_get_rom_size(): walk the images from `rom` until the last one (or a bad header); never more
// than the BAR.
size_t PciCore::pci_get_rom_size(pci_dev& dev, uint64_t rom, size_t size) {
  uint64_t image = rom;
  unsigned length = 0;
  bool last_image = false;
  do {
    const uint32_t sig = static_cast<uint32_t>(cpu_.read(image, 2));
    if (sig != 0xAA55) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "%s: Invalid PCI ROM header signature: expecting 0xaa55, got %#06x",
                    dev.name().c_str(), sig);
      kernel_warn("pci_info", msg);
      break;
    }
    const uint64_t pds = image + cpu_.read(image + 24, 2);
    const uint32_t pcir = static_cast<uint32_t>(cpu_.read(pds, 4));
    if (pcir != 0x52494350) {  // "PCIR"
      char msg[160];
      std::snprintf(msg, sizeof msg, "%s: Invalid PCI ROM data signature: expecting 0x52494350, got %#010x",
                    dev.name().c_str(), pcir);
      kernel_warn("pci_info", msg);
      break;
    }
    last_image = cpu_.read(pds + 21, 1) & 0x80;
    length = static_cast<unsigned>(cpu_.read(pds + 16, 2));
    image += length * 512ULL;
    if (image >= rom + size) break;  // outside the resource window
    if (!last_image && cpu_.read(image, 2) != 0xAA55) {
      kernel_warn("pci_info", dev.name() + ": No more image in the PCI ROM");
      break;
    }
  } while (length && !last_image);
  return static_cast<size_t>(std::min<uint64_t>(image - rom, size));
}

// pci_map_rom(): the ROM's bus address with decode on, *size its true size; 0 when there is none
// or it holds no valid image (decode is off again then).
uint64_t PciCore::pci_map_rom(pci_dev& dev, size_t* size) {
  const resource& res = dev.res[PCI_ROM_RESOURCE];
  if (!res.flags || (res.flags & IORESOURCE_UNSET)) return 0;
  const uint64_t start = res.start;
  *size = res.size();
  if (!*size) return 0;
  if (pci_enable_rom(dev)) return 0;
  *size = pci_get_rom_size(dev, start, *size);
  if (!*size) {
    pci_disable_rom(dev);
    return 0;
  }
  return start;
}

// pci_unmap_rom()
void PciCore::pci_unmap_rom(pci_dev& dev, uint64_t) { pci_disable_rom(dev); }

}  // namespace vfiosim::kernel
