// Config-space virtualisation of vfio-pci (drivers/vfio/pci/vfio_pci_config.c, v6.1; spec
// pci-ccw.md A1.8). A shadow copy (vconfig) and a map from every config byte to the capability
// covering it (pci_config_map). Each capability type has perm_bits: per byte, the bits that are
// virtual (read from and written to vconfig) and the bits userspace may write, with a read and a
// write handler. Accesses are cut into aligned pieces that never span two capabilities
// (vfio_config_do_rw); bytes no capability covers are raw; capabilities without a table are
// read-only with their chain pointer (or extended header) from vconfig (vfio_direct_config_read).
//
// Ported: the type 0 header (virtual IDs, INTx Disable emulated through vfio_pci_intx_mask,
// Status read-only but for the capability-list bit, BARs and ROM sized from the host resources
// by vfio_bar_fixup, BAR restore after a backdoor reset); capability hiding with chain splicing
// and the placeholder for a hidden first extended capability (vfio_cap_init, vfio_ecap_init,
// with the 6.1 length tables); PM (PME hidden, power-state writes trapped into
// vfio_pci_set_power_state); MSI (flags, address and data virtual, the enable bit only through
// SET_IRQS, queue size clamped to msi_qmax); MSI-X read-only; PCI Express Device Control (FLR,
// MPS, MRRS virtual: FLR resets, MRRS goes to hardware no lower than MPS; no phantom functions)
// and Device Control 2 (no ARI Forwarding); PCI-X; Advanced Features FLR; AER's writable masks;
// power budgeting's data select; vendor-specific raw writes.
// VPD (address and data virtual, transfers through pci_read_vpd / pci_write_vpd).
// Not ported: the extended-capability placeholders of later kernels (virtualised zero-length
// capabilities).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

class VfioPciConfig;

/// struct perm_bits: `virt` and `write` hold one mask byte per capability byte (empty: all 0).
struct perm_bits {
  std::vector<uint8_t> virt, write;
  using ReadFn = int (VfioPciConfig::*)(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  using WriteFn = int (VfioPciConfig::*)(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  ReadFn readfn = nullptr;
  WriteFn writefn = nullptr;
};

class VfioPciConfig {
 public:
  /// What the capability handlers need from the vfio-pci core device.
  struct Hooks {
    std::function<void()> reset;                     // pci_try_reset_function() (FLR via DevCtl or AF)
    std::function<void(bool disable)> intx_disable;  // virtual INTx Disable: vfio_pci_intx_mask / _unmask
    std::function<bool()> msi_enabled;               // vdev->irq_type == VFIO_PCI_MSI_IRQ_INDEX
    std::function<unsigned()> msi_qmax;              // log2 of the vectors SET_IRQS allocated
    std::function<void(int state)> set_power_state;  // vfio_lock_and_set_power_state()
  };
  static constexpr uint8_t PCI_CAP_ID_BASIC = 0;
  static constexpr uint8_t PCI_CAP_ID_INVALID = 0xFF;
  static constexpr uint8_t kCapIdMax = 0x14;     // PCI_CAP_ID_MAX (PCI_CAP_ID_EA) in 6.1
  static constexpr uint16_t kExtCapIdMax = 0x2E; // PCI_EXT_CAP_ID_MAX (PCI_EXT_CAP_ID_DOE) in 6.1

  VfioPciConfig(PciCore& pci, pci_dev& dev, Hooks hooks);
  /// vfio_config_init(): shadow the header, map and shadow the capabilities (first open).
  int init();
  /// One aligned access of 1, 2 or 4 bytes through the virtualisation (vfio_pci_config_rw):
  /// split further where it would span two capabilities.
  uint32_t read(unsigned off, unsigned len);
  void write(unsigned off, unsigned len, uint32_t value);
  /// __vfio_pci_memory_enabled(): the virtual Command's memory enable, in a state below D3hot.
  bool memory_enabled() const;

 private:
  // vfio_config_init() parts
  int cap_len(uint8_t cap, unsigned pos);    // vfio_cap_len()
  int ext_cap_len(uint16_t ecap, unsigned epos);  // vfio_ext_cap_len()
  int cap_init();                            // vfio_cap_init()
  int ecap_init();                           // vfio_ecap_init()
  void fill_vconfig_bytes(unsigned offset, unsigned size);  // vfio_fill_vconfig_bytes()
  unsigned find_cap_start(unsigned pos) const;              // vfio_find_cap_start()
  unsigned cap_remaining_dword(unsigned pos) const;         // vfio_pci_cap_remaining_dword()
  int do_rw(unsigned pos, unsigned count, bool write, uint32_t& val);  // vfio_config_do_rw()
  const perm_bits& perm_for(uint8_t cap_id, unsigned pos) const;

  // The handlers (perm_bits readfn / writefn).
 public:
  int default_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  int default_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int direct_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  int raw_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  int raw_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int basic_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  int basic_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int pm_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int msi_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val);
  int msi_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int exp_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int af_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);
  int vpd_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val);

 private:
  uint32_t vget(unsigned off, unsigned len) const;
  void vput(unsigned off, unsigned len, uint32_t value);
  uint32_t user_read(unsigned pos, unsigned count);  // vfio_user_config_read()
  void user_write(unsigned pos, unsigned count, uint32_t value);
  void bar_fixup();                                  // vfio_bar_fixup()
  bool need_bar_restore();                           // vfio_need_bar_restore()
  void bar_restore();                                // vfio_bar_restore()

  PciCore& pci_;
  pci_dev& dev_;
  Hooks hooks_;
  std::vector<uint8_t> vconfig_;
  std::vector<uint8_t> map_;   // pci_config_map
  perm_bits msi_perm_;         // per device (its length depends on the flags)
  bool extended_caps_ = false;
  bool bardirty_ = true;
  uint32_t rbar_[7] = {};      // BARs and ROM as the host assigned them, for vfio_bar_restore()
};

}  // namespace vfiosim::kernel
