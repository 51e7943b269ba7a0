#include "vfio/vfio/pci/vfio_pci_config.h"

#include <linux/pci_regs.h>

namespace vfiosim::kernel {

namespace {
constexpr unsigned kDevCtlVirtual = PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_BCR_FLR;
}

VfioPciConfig::VfioPciConfig(PciCore& pci, pci_dev& dev, std::function<void()> reset)
    : pci_(pci), dev_(dev), reset_(std::move(reset)), v_(4096, 0), cap_of_(4096, 0) {}

void VfioPciConfig::init() {
  const unsigned size = dev_.is_pcie() ? 4096 : 256;
  for (unsigned off = 0; off < size; off += 4) put(off, 4, pci_.read_config(dev_, static_cast<int>(off), 4));
  // Which capability covers each byte: the standard list (lengths of the ones we know; the rest
  // up to the next capability) — vfio_cap_init().
  std::fill(cap_of_.begin(), cap_of_.end(), 0);
  unsigned pos = get(PCI_CAPABILITY_LIST, 1) & ~3u;
  for (int hops = 0; pos >= 0x40 && pos < 256 && hops < 48; ++hops) {
    const unsigned id = get(pos, 1);
    unsigned len = 4;
    if (id == PCI_CAP_ID_MSIX) { len = 12; msix_ = pos; }
    if (id == PCI_CAP_ID_EXP) { len = 60; exp_ = pos; }
    if (id == PCI_CAP_ID_PM) len = 8;
    if (id == PCI_CAP_ID_MSI) len = 24;
    for (unsigned b = pos; b < pos + len && b < 256; ++b) cap_of_[b] = static_cast<uint8_t>(id);
    pos = get(pos + 1, 1) & ~3u;
  }
  for (unsigned b = 0x100; b < size; ++b) cap_of_[b] = 0xFF;  // extended capabilities: read-only
  bardirty_ = true;
}

uint32_t VfioPciConfig::get(unsigned off, unsigned len) const {
  uint32_t v = 0;
  for (unsigned i = 0; i < len; ++i) v |= static_cast<uint32_t>(v_[off + i]) << (8 * i);
  return v;
}

void VfioPciConfig::put(unsigned off, unsigned len, uint32_t value) {
  for (unsigned i = 0; i < len; ++i) v_[off + i] = static_cast<uint8_t>(value >> (8 * i));
}

// The permission of one byte (init_pci_cap_basic_perm and the capability tables).
VfioPciConfig::Perm VfioPciConfig::perm(unsigned off) const {
  if (off < 0x40) {
    if (off < 4) return {true, false};                          // vendor, device
    if (off == 4) return {false, true};                         // command (low byte)
    if (off == 5) return {false, true};                         // command high byte (INTx disable handled apart)
    if (off == 6 || off == 7) return {false, false};            // status: RW1C writes dropped
    if (off == 0xC || off == 0xD || off == 0xF) return {false, true};  // cache line, latency, BIST
    if (off >= 0x10 && off < 0x28) return {true, true};          // BARs
    if (off >= 0x30 && off < 0x34) return {true, true};          // ROM
    if (off == 0x34) return {true, false};                       // capability pointer
    if (off == 0x3C) return {true, true};                        // interrupt line (scratch)
    if (off == 0x3D) return {true, false};                       // interrupt pin
    return {false, false};
  }
  const uint8_t cap = cap_of_[off];
  if (!cap) return {false, true};  // a gap: raw
  if (cap == PCI_CAP_ID_EXP && exp_ && (off == exp_ + PCI_EXP_DEVCTL || off == exp_ + PCI_EXP_DEVCTL + 1))
    return {false, true};  // Device Control: the virtual bits are handled in write()
  return {false, false};  // everything else: read-only pass-through (MSI-X control included)
}

// vfio_bar_fixup(): the shadow BARs take the host sizes: (value & ~(size - 1)) | type flags.
void VfioPciConfig::bar_fixup() {
  for (int i = 0; i < 6; ++i) {
    const unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
    const resource& r = dev_.res[i];
    if (!r.size()) {
      // The upper half of a 64-bit BAR belongs to the BAR below it.
      if (i > 0 && (dev_.res[i - 1].flags & IORESOURCE_MEM_64) && dev_.res[i - 1].size()) continue;
      put(off, 4, 0);
      continue;
    }
    const uint64_t mask = ~(r.size() - 1);
    const uint32_t hw_flags = pci_.read_config(dev_, static_cast<int>(off), 4) & ((r.flags & IORESOURCE_IO) ? 0x3u : 0xFu);
    put(off, 4, (get(off, 4) & static_cast<uint32_t>(mask)) | hw_flags);
    if (r.flags & IORESOURCE_MEM_64) put(off + 4, 4, get(off + 4, 4) & static_cast<uint32_t>(mask >> 32));
  }
  const resource& rom = dev_.res[PCI_ROM_RESOURCE];
  if (rom.size()) {
    const uint32_t mask = static_cast<uint32_t>(~(rom.size() - 1));
    put(PCI_ROM_ADDRESS, 4, get(PCI_ROM_ADDRESS, 4) & (mask | PCI_ROM_ADDRESS_ENABLE));
  } else {
    put(PCI_ROM_ADDRESS, 4, 0);
  }
  bardirty_ = false;
}

uint32_t VfioPciConfig::read(unsigned off, unsigned len) {
  if (bardirty_ && off < 0x34 && off + len > 0x10) bar_fixup();
  const uint32_t hw = pci_.read_config(dev_, static_cast<int>(off), static_cast<int>(len));
  uint32_t out = 0;
  for (unsigned i = 0; i < len; ++i) {
    const uint8_t b = perm(off + i).virt ? v_[off + i] : static_cast<uint8_t>(hw >> (8 * i));
    out |= static_cast<uint32_t>(b) << (8 * i);
  }
  if (off <= 5 && off + len > 5) {  // INTx disable (Command bit 10) is virtual
    const unsigned shift = 8 * (5 - off);
    out = (out & ~(0x04u << shift)) | ((v_[5] & 0x04u) << shift);
  }
  return out;
}

void VfioPciConfig::write(unsigned off, unsigned len, uint32_t value) {
  uint32_t hw_mask = 0;  // bytes that go to hardware
  for (unsigned i = 0; i < len; ++i) {
    const Perm p = perm(off + i);
    if (!p.writable) continue;
    if (p.virt) {
      v_[off + i] = static_cast<uint8_t>(value >> (8 * i));
      if (off + i >= 0x10 && off + i < 0x34) bardirty_ = true;
    } else {
      hw_mask |= 0xFFu << (8 * i);
    }
  }
  if (off <= 5 && off + len > 5) {  // INTx disable stays virtual
    const unsigned shift = 8 * (5 - off);
    v_[5] = static_cast<uint8_t>((v_[5] & ~0x04u) | ((value >> shift) & 0x04u));
    value &= ~(0x04u << shift);
  }
  // PCI Express Device Control: MPS and FLR are virtual; FLR=1 resets the function.
  if (exp_ && off <= exp_ + PCI_EXP_DEVCTL && off + len >= exp_ + PCI_EXP_DEVCTL + 2 && len >= 2) {
    const unsigned shift = 8 * (exp_ + PCI_EXP_DEVCTL - off);
    const uint32_t ctl = (value >> shift) & 0xFFFF;
    const uint32_t old = get(exp_ + PCI_EXP_DEVCTL, 2);
    put(exp_ + PCI_EXP_DEVCTL, 2, (old & ~kDevCtlVirtual) | (ctl & PCI_EXP_DEVCTL_PAYLOAD));
    if ((ctl & PCI_EXP_DEVCTL_BCR_FLR) && reset_) reset_();
    const uint32_t hw_ctl = pci_.read_config(dev_, static_cast<int>(exp_ + PCI_EXP_DEVCTL), 2);
    // MRRS goes to hardware as max(requested, the current MPS).
    const uint32_t mps = (hw_ctl & PCI_EXP_DEVCTL_PAYLOAD) >> 5;
    uint32_t mrrs = (ctl & PCI_EXP_DEVCTL_READRQ) >> 12;
    if (mrrs < mps) mrrs = mps;
    const uint32_t out = (hw_ctl & (PCI_EXP_DEVCTL_PAYLOAD)) | (ctl & ~kDevCtlVirtual & ~PCI_EXP_DEVCTL_READRQ) | (mrrs << 12);
    pci_.write_config(dev_, static_cast<int>(exp_ + PCI_EXP_DEVCTL), 2, out);
    hw_mask &= ~(0xFFFFu << shift);
  }
  if (!hw_mask) return;
  const uint32_t hw = pci_.read_config(dev_, static_cast<int>(off), static_cast<int>(len));
  pci_.write_config(dev_, static_cast<int>(off), static_cast<int>(len), (hw & ~hw_mask) | (value & hw_mask));
}

}  // namespace vfiosim::kernel
