// An expansion ROM image as firmware and Linux's pci_get_rom_size() expect it: one image with the
// 0x55AA header, a "PCIR" data structure (vendor, device, class code, image length in 512-byte
// units, code type EFI, last-image indicator) and a recognisable body. What it does not model:
// executable code, several images, flashing the ROM.
#pragma once

#include <cstdint>
#include <vector>

namespace vfiosim::pci {

/// The image (`bytes` long, a multiple of 512) for a function with these IDs.
std::vector<uint8_t> option_rom_image(uint16_t vendor, uint16_t device, uint32_t class_code, uint32_t bytes);

/// Offsets in the image (PCI Firmware Specification 3.0, 5.1).
constexpr uint32_t kRomSignature = 0xAA55;  // bytes 0x55, 0xAA
constexpr uint32_t kRomPcirPointer = 0x18;  // 16-bit offset of the PCI data structure
constexpr uint32_t kRomPcirOffset = 0x1C;   // where this image puts it
constexpr uint32_t kRomBodyOffset = 0x40;   // the body: an ASCII banner, then a pattern

}  // namespace vfiosim::pci
