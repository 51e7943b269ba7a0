// Vital Product Data through the VPD capability (drivers/pci/vpd.c, v6.1): the size found by
// walking the resource tags (pci_vpd_size), dword reads and writes with the F-flag handshake
// polled the way pci_vpd_wait() does (sleeps of 10 us doubling to 1 ms, 125 ms timeout).
// Not modelled: the per-device quirks (VPD size overrides, blocked devices).
#include <linux/pci_regs.h>

#include <cerrno>

#include <systemc>

#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

namespace {
constexpr unsigned kVpdMaxSize = 32768;  // PCI_VPD_MAX_SIZE
}

// pci_vpd_wait(): until the F flag reads `set`.
int PciCore::vpd_wait(pci_dev& dev, bool set) {
  const sc_core::sc_time deadline = sc_core::sc_time_stamp() + sc_core::sc_time(125, sc_core::SC_MS);
  unsigned sleep_us = 10;
  for (;;) {
    const uint32_t addr = read_config(dev, dev.vpd_cap + PCI_VPD_ADDR, 2);
    if (static_cast<bool>(addr & PCI_VPD_ADDR_F) == set) return 0;
    if (sc_core::sc_time_stamp() >= deadline) return -ETIMEDOUT;
    sc_core::wait(sleep_us, sc_core::SC_US);
    if (sleep_us < 1024) sleep_us *= 2;
  }
}

int PciCore::vpd_read_dword(pci_dev& dev, unsigned pos, uint32_t& val) {
  write_config(dev, dev.vpd_cap + PCI_VPD_ADDR, 2, pos & ~3u);
  if (int ret = vpd_wait(dev, true)) return ret;
  val = read_config(dev, dev.vpd_cap + PCI_VPD_DATA, 4);
  return 0;
}

// pci_vpd_size(): the end of the image, from its resource tags.
unsigned PciCore::vpd_size(pci_dev& dev) {
  unsigned off = 0;
  auto byte = [&](unsigned at, uint8_t& b) {
    uint32_t v = 0;
    if (vpd_read_dword(dev, at, v)) return false;
    b = static_cast<uint8_t>(v >> (8 * (at & 3)));
    return true;
  };
  while (off < kVpdMaxSize) {
    uint8_t tag = 0;
    if (!byte(off, tag)) return 0;
    if (tag & 0x80) {  // large resource: a 16-bit length follows
      uint8_t lo = 0, hi = 0;
      if (!byte(off + 1, lo) || !byte(off + 2, hi)) return 0;
      off += 3 + (static_cast<unsigned>(hi) << 8 | lo);
    } else {
      if (((tag >> 3) & 0xF) == 0xF) return off + 1;  // the end tag
      off += 1 + (tag & 7);
    }
  }
  return 0;
}

long PciCore::pci_read_vpd(pci_dev& dev, unsigned pos, unsigned count, uint8_t* buf) {
  if (!dev.vpd_cap) return -ENODEV;
  if (!dev.vpd_len) dev.vpd_len = vpd_size(dev);  // pci_vpd_available()
  if (!dev.vpd_len) return -ENODEV;
  if (pos >= dev.vpd_len) return 0;
  if (count > dev.vpd_len - pos) count = dev.vpd_len - pos;
  unsigned done = 0;
  while (done < count) {
    uint32_t v = 0;
    if (int ret = vpd_read_dword(dev, pos + done, v)) return ret;
    for (unsigned skip = (pos + done) & 3; skip < 4 && done < count; ++skip) buf[done++] = static_cast<uint8_t>(v >> (8 * skip));
  }
  return count;
}

long PciCore::pci_write_vpd(pci_dev& dev, unsigned pos, unsigned count, const uint8_t* buf) {
  if (!dev.vpd_cap) return -ENODEV;
  if (!dev.vpd_len) dev.vpd_len = vpd_size(dev);
  if (!dev.vpd_len) return -ENODEV;
  if ((pos & 3) || (count & 3)) return -EINVAL;
  if (pos >= dev.vpd_len) return 0;
  for (unsigned done = 0; done < count; done += 4) {
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; ++i) v |= static_cast<uint32_t>(buf[done + i]) << (8 * i);
    write_config(dev, dev.vpd_cap + PCI_VPD_DATA, 4, v);
    write_config(dev, dev.vpd_cap + PCI_VPD_ADDR, 2, (pos + done) | PCI_VPD_ADDR_F);
    if (int ret = vpd_wait(dev, false)) return ret;
  }
  return count;
}

}  // namespace vfiosim::kernel
