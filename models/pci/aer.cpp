#include "models/pci/aer.h"

#include <linux/pci_regs.h>

namespace vfiosim::pci {

std::array<uint32_t, 4> tlp_header_log(TlpType type, uint64_t address, uint32_t length, uint16_t rid, uint8_t tag) {
  const bool dw4 = header_bytes(type, address) == 16;
  const bool data = type == TlpType::MemWrite;
  const uint32_t fmt = (dw4 ? 1u : 0u) | (data ? 2u : 0u);  // Fmt[1:0] of the 3-bit field: 4 DW, with data
  const uint32_t len_dw = ((length + 3) / 4) & 0x3FF;
  std::array<uint32_t, 4> h{};
  h[0] = (fmt << 29) | len_dw;  // Type 0_0000: memory request
  h[1] = (static_cast<uint32_t>(rid) << 16) | (static_cast<uint32_t>(tag) << 8) | 0xFF;  // last/first DW BE
  if (dw4) {
    h[2] = static_cast<uint32_t>(address >> 32);
    h[3] = static_cast<uint32_t>(address) & ~3u;
  } else {
    h[2] = static_cast<uint32_t>(address) & ~3u;
  }
  return h;
}

namespace {
int bit_index(uint32_t bit) { return bit ? __builtin_ctz(bit) : 0; }

// The root port's side of an ERR_FATAL / ERR_NONFATAL message.
void root_receives(PciBridge& root, bool fatal, uint16_t source) {
  const uint16_t aer = root.aer_cap();
  if (!aer) return;
  ConfigSpace& cfg = root.config();
  uint32_t st = cfg.get(aer + PCI_ERR_ROOT_STATUS, 4);
  if (st & PCI_ERR_ROOT_UNCOR_RCV) {
    st |= PCI_ERR_ROOT_MULTI_UNCOR_RCV;
  } else {
    st |= PCI_ERR_ROOT_UNCOR_RCV;
    if (fatal) st |= PCI_ERR_ROOT_FIRST_FATAL;
    const uint32_t src = cfg.get(aer + PCI_ERR_ROOT_ERR_SRC, 4);
    cfg.set(aer + PCI_ERR_ROOT_ERR_SRC, 4, (src & 0xFFFF) | (static_cast<uint32_t>(source) << 16));
  }
  st |= fatal ? PCI_ERR_ROOT_FATAL_RCV : PCI_ERR_ROOT_NONFATAL_RCV;
  cfg.set(aer + PCI_ERR_ROOT_STATUS, 4, st);
}
}  // namespace

bool aer_report_uncorrectable(PciFunction& fn, uint16_t aer, uint32_t bit, const std::array<uint32_t, 4>& header,
                              PciBridge* root, uint16_t source) {
  ConfigSpace& cfg = fn.config();
  bool masked = false, fatal = false;
  if (aer) {
    const uint32_t status = cfg.get(aer + PCI_ERR_UNCOR_STATUS, 4);
    masked = cfg.get(aer + PCI_ERR_UNCOR_MASK, 4) & bit;
    fatal = cfg.get(aer + PCI_ERR_UNCOR_SEVER, 4) & bit;
    const uint32_t unmasked_before = status & ~cfg.get(aer + PCI_ERR_UNCOR_MASK, 4);
    cfg.set(aer + PCI_ERR_UNCOR_STATUS, 4, status | bit);
    if (masked) return false;  // status only: no header, no Device Status, no message
    if (!unmasked_before) {    // the first error: pointer and header
      const uint32_t cap = cfg.get(aer + PCI_ERR_CAP, 4);
      cfg.set(aer + PCI_ERR_CAP, 4, (cap & ~0x1Fu) | static_cast<uint32_t>(bit_index(bit)));
      for (int i = 0; i < 4; ++i) cfg.set(aer + PCI_ERR_HEADER_LOG + 4 * static_cast<uint32_t>(i), 4, header[static_cast<size_t>(i)]);
    }
  }
  if (!fn.pcie_cap()) return false;
  const uint32_t devsta = fn.pcie_cap() + PCI_EXP_DEVSTA;
  cfg.set(devsta, 2, cfg.get(devsta, 2) | (fatal ? PCI_EXP_DEVSTA_FED : PCI_EXP_DEVSTA_NFED));
  const uint32_t devctl = cfg.get(fn.pcie_cap() + PCI_EXP_DEVCTL, 2);
  const bool report = (devctl & (fatal ? PCI_EXP_DEVCTL_FERE : PCI_EXP_DEVCTL_NFERE)) ||
                      (cfg.get(PCI_COMMAND, 2) & PCI_COMMAND_SERR);
  if (!report || !root) return false;
  root_receives(*root, fatal, source);
  return true;
}

}  // namespace vfiosim::pci
