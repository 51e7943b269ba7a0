#include "models/pci/option_rom.h"

#include <cstring>

namespace vfiosim::pci {

namespace {
void put16(std::vector<uint8_t>& v, uint32_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x);
  v[at + 1] = static_cast<uint8_t>(x >> 8);
}
}  // namespace

std::vector<uint8_t> option_rom_image(uint16_t vendor, uint16_t device, uint32_t class_code, uint32_t bytes) {
  std::vector<uint8_t> img(bytes, 0);
  // The body first, so the headers written after it win: a banner, then a byte pattern a reader
  // can check at any offset.
  for (uint32_t i = kRomBodyOffset; i < bytes; ++i) img[i] = static_cast<uint8_t>(i * 131u + 7u);
  static const char kBanner[] = "vfiosim DMA engine option ROM";
  std::memcpy(&img[kRomBodyOffset], kBanner, sizeof kBanner);
  put16(img, 0, kRomSignature);
  img[2] = static_cast<uint8_t>(bytes / 512);  // initialization size, 512-byte units
  put16(img, kRomPcirPointer, kRomPcirOffset);
  uint8_t* p = &img[kRomPcirOffset];
  std::memcpy(p, "PCIR", 4);
  put16(img, kRomPcirOffset + 4, vendor);
  put16(img, kRomPcirOffset + 6, device);
  put16(img, kRomPcirOffset + 10, 0x18);  // structure length
  p[12] = 0;                              // structure revision
  p[13] = static_cast<uint8_t>(class_code);
  p[14] = static_cast<uint8_t>(class_code >> 8);
  p[15] = static_cast<uint8_t>(class_code >> 16);
  put16(img, kRomPcirOffset + 16, static_cast<uint16_t>(bytes / 512));  // image length
  p[20] = 3;     // code type: EFI
  p[21] = 0x80;  // indicator: the last image
  return img;
}

}  // namespace vfiosim::pci
