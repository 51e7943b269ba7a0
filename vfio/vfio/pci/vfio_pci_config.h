// Config-space virtualisation of vfio-pci (drivers/vfio/pci/vfio_pci_config.c, v6.1; spec
// pci-ccw.md A1.8): a shadow copy (vconfig) and, for each byte, whether it is virtual (served from
// and written to the shadow) and whether userspace may write it. The type 0 header follows the
// kernel's table: IDs, capability pointer, interrupt pin virtual and read-only; BARs and ROM fully
// virtual with sizing emulated from the host resources (vfio_bar_fixup); Command written through
// to hardware except INTx-disable; Status read-only; the interrupt line a scratch byte. MSI-X's
// Message Control is read-only (SET_IRQS enables it); PCI Express Device Control keeps MPS and the
// FLR bit virtual (FLR=1 resets the function); other capabilities are read-only pass-through;
// bytes outside every capability are raw. Not ported: capability hiding and splicing, PM power
// transitions, VPD, MSI emulation, the extended-capability placeholders.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "vfio/linux/pci/pci_core.h"

namespace vfiosim::kernel {

class VfioPciConfig {
 public:
  /// `reset` runs a function-level reset when userspace sets Device Control's FLR bit.
  VfioPciConfig(PciCore& pci, pci_dev& dev, std::function<void()> reset);
  /// vfio_config_init(): snapshot the header and map the capabilities (at first open).
  void init();
  uint32_t read(unsigned off, unsigned len);
  void write(unsigned off, unsigned len, uint32_t value);
  /// After a host reset the shadow BARs are still what userspace wrote.
  const std::vector<uint8_t>& vconfig() const { return v_; }

 private:
  struct Perm {
    bool virt = false;
    bool writable = false;
  };
  Perm perm(unsigned off) const;
  void bar_fixup();  // vfio_bar_fixup()
  uint32_t get(unsigned off, unsigned len) const;
  void put(unsigned off, unsigned len, uint32_t value);

  PciCore& pci_;
  pci_dev& dev_;
  std::function<void()> reset_;
  std::vector<uint8_t> v_;
  std::vector<uint8_t> cap_of_;  // capability id covering each byte (0: none / gap)
  unsigned msix_ = 0, exp_ = 0;
  bool bardirty_ = true;
};

}  // namespace vfiosim::kernel
