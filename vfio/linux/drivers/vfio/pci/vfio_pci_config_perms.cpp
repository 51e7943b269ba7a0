// vfio_pci_config.c, tables part: the capability length tables of 6.1, the shared perm_bits
// (vfio_pci_init_perm_bits with init_pci_cap_*_perm and init_pci_ext_cap_*_perm), the per-device
// MSI table, and the handlers that act on a write: the header (Command's memory/I/O and INTx
// Disable, BAR dirtiness), PM (power-state changes), MSI (enable only through SET_IRQS, queue size
// clamped), PCI Express Device Control (FLR, MRRS floor) and Advanced Features (FLR).
#include <linux/pci_regs.h>

#include <array>
#include <cerrno>

#include "vfio/linux/kernel/sync.h"
#include "vfio/linux/drivers/vfio/pci/vfio_pci_config.h"

namespace vfiosim::kernel {

namespace {

constexpr uint32_t ALL_VIRT = ~0u, NO_VIRT = 0, ALL_WRITE = ~0u, NO_WRITE = 0;

void alloc_perm_bits(perm_bits& p, int size) {  // alloc_perm_bits(): default handlers, nothing allowed
  p.virt.assign(static_cast<size_t>(size), 0);
  p.write.assign(static_cast<size_t>(size), 0);
  p.readfn = &VfioPciConfig::default_read;
  p.writefn = &VfioPciConfig::default_write;
}
void p_set(perm_bits& p, int off, int len, uint32_t virt, uint32_t write) {  // p_setb / p_setw / p_setd
  for (int i = 0; i < len; ++i) {
    p.virt[static_cast<size_t>(off + i)] = static_cast<uint8_t>(virt >> (8 * i));
    p.write[static_cast<size_t>(off + i)] = static_cast<uint8_t>(write >> (8 * i));
  }
}
void p_setb(perm_bits& p, int off, uint32_t v, uint32_t w) { p_set(p, off, 1, v, w); }
void p_setw(perm_bits& p, int off, uint32_t v, uint32_t w) { p_set(p, off, 2, v, w); }
void p_setd(perm_bits& p, int off, uint32_t v, uint32_t w) { p_set(p, off, 4, v, w); }

struct Tables {
  std::array<perm_bits, VfioPciConfig::kCapIdMax + 1> cap;
  std::array<perm_bits, VfioPciConfig::kExtCapIdMax + 1> ecap;
  perm_bits unassigned;
  Tables();
};

// vfio_pci_init_perm_bits()
Tables::Tables() {
  for (auto& p : cap) p.readfn = &VfioPciConfig::direct_read;  // read-only pass-through
  for (auto& p : ecap) p.readfn = &VfioPciConfig::direct_read;
  unassigned.readfn = &VfioPciConfig::raw_read;  // gaps: some devices hide registers there
  unassigned.writefn = &VfioPciConfig::raw_write;

  // init_pci_cap_basic_perm()
  perm_bits& b = cap[VfioPciConfig::PCI_CAP_ID_BASIC];
  alloc_perm_bits(b, PCI_STD_HEADER_SIZEOF);
  b.readfn = &VfioPciConfig::basic_read;
  b.writefn = &VfioPciConfig::basic_write;
  p_setw(b, PCI_VENDOR_ID, ALL_VIRT, NO_WRITE);  // virtual for SR-IOV VFs, which read 0xFFFF
  p_setw(b, PCI_DEVICE_ID, ALL_VIRT, NO_WRITE);
  p_setw(b, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, ALL_WRITE);  // INTx Disable is emulated
  p_setw(b, PCI_STATUS, PCI_STATUS_CAP_LIST, NO_WRITE);         // the list may be skipped
  p_setb(b, PCI_CACHE_LINE_SIZE, NO_VIRT, ALL_WRITE);
  p_setb(b, PCI_LATENCY_TIMER, NO_VIRT, ALL_WRITE);
  p_setb(b, PCI_BIST, NO_VIRT, ALL_WRITE);
  for (int bar = PCI_BASE_ADDRESS_0; bar <= PCI_BASE_ADDRESS_5; bar += 4) p_setd(b, bar, ALL_VIRT, ALL_WRITE);
  p_setd(b, PCI_ROM_ADDRESS, ALL_VIRT, ALL_WRITE);
  p_setb(b, PCI_CAPABILITY_LIST, ALL_VIRT, NO_WRITE);  // to adjust the chain
  p_setb(b, PCI_INTERRUPT_LINE, ALL_VIRT, ALL_WRITE);  // scratch for software
  p_setb(b, PCI_INTERRUPT_PIN, ALL_VIRT, NO_WRITE);    // to hide INTx

  // init_pci_cap_pm_perm(): PME hidden; the power state trapped (pm_write) and read-only.
  perm_bits& pm = cap[PCI_CAP_ID_PM];
  alloc_perm_bits(pm, PCI_PM_SIZEOF);
  pm.writefn = &VfioPciConfig::pm_write;
  p_setb(pm, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setw(pm, PCI_PM_PMC, PCI_PM_CAP_PME_MASK, NO_WRITE);
  p_setd(pm, PCI_PM_CTRL, PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS,
         ~static_cast<uint32_t>(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS | PCI_PM_CTRL_STATE_MASK));

  // init_pci_cap_vpd_perm(): address and data virtual; a write of the address runs the transfer
  // through the kernel's VPD access (vpd_write).
  perm_bits& vpd = cap[PCI_CAP_ID_VPD];
  alloc_perm_bits(vpd, PCI_CAP_VPD_SIZEOF);
  vpd.writefn = &VfioPciConfig::vpd_write;
  p_setb(vpd, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setw(vpd, PCI_VPD_ADDR, ALL_VIRT, ALL_WRITE);
  p_setd(vpd, PCI_VPD_DATA, ALL_VIRT, ALL_WRITE);

  // init_pci_cap_pcix_perm()
  perm_bits& x = cap[PCI_CAP_ID_PCIX];
  alloc_perm_bits(x, PCI_CAP_PCIX_SIZEOF_V2);
  p_setb(x, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setw(x, PCI_X_CMD, NO_VIRT, ALL_WRITE);
  p_setd(x, PCI_X_ECC_CSR, NO_VIRT, ALL_WRITE);

  cap[PCI_CAP_ID_VNDR].writefn = &VfioPciConfig::raw_write;  // vendor registers: raw writes

  // init_pci_cap_exp_perm(): Device Control writable but for phantom functions, with FLR, MPS
  // and MRRS virtual (exp_write); Device Control 2 writable but for ARI Forwarding.
  perm_bits& e = cap[PCI_CAP_ID_EXP];
  alloc_perm_bits(e, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
  e.writefn = &VfioPciConfig::exp_write;
  p_setb(e, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setw(e, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
         ~static_cast<uint32_t>(PCI_EXP_DEVCTL_PHANTOM));
  p_setw(e, PCI_EXP_DEVCTL2, NO_VIRT, ~static_cast<uint32_t>(PCI_EXP_DEVCTL2_ARI));

  // init_pci_cap_af_perm()
  perm_bits& af = cap[PCI_CAP_ID_AF];
  alloc_perm_bits(af, PCI_CAP_AF_SIZEOF);
  af.writefn = &VfioPciConfig::af_write;
  p_setb(af, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setb(af, PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR);

  // init_pci_ext_cap_err_perm(): the architected status, mask and severity bits and the ECRC
  // enables go to hardware.
  perm_bits& err = ecap[PCI_EXT_CAP_ID_ERR];
  alloc_perm_bits(err, PCI_ERR_ROOT_COMMAND);
  p_setd(err, 0, ALL_VIRT, NO_WRITE);
  uint32_t mask = PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN | PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP |
                  PCI_ERR_UNC_COMP_TIME | PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER |
                  PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP | PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN |
                  PCI_ERR_UNC_MCBTLP | PCI_ERR_UNC_ATOMEG | PCI_ERR_UNC_TLPPRE;
  p_setd(err, PCI_ERR_UNCOR_STATUS, NO_VIRT, mask);
  p_setd(err, PCI_ERR_UNCOR_MASK, NO_VIRT, mask);
  p_setd(err, PCI_ERR_UNCOR_SEVER, NO_VIRT, mask);
  mask = PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | PCI_ERR_COR_BAD_DLLP | PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER |
         PCI_ERR_COR_ADV_NFAT | PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER;
  p_setd(err, PCI_ERR_COR_STATUS, NO_VIRT, mask);
  p_setd(err, PCI_ERR_COR_MASK, NO_VIRT, mask);
  p_setd(err, PCI_ERR_CAP, NO_VIRT, PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);

  // init_pci_ext_cap_pwr_perm(): the data select is writable, the data stays read-only.
  perm_bits& pwr = ecap[PCI_EXT_CAP_ID_PWR];
  alloc_perm_bits(pwr, PCI_EXT_CAP_PWR_SIZEOF);
  p_setd(pwr, 0, ALL_VIRT, NO_WRITE);
  p_setb(pwr, PCI_PWR_DATA, NO_VIRT, ALL_WRITE);

  ecap[PCI_EXT_CAP_ID_VNDR].writefn = &VfioPciConfig::raw_write;
}

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const perm_bits& config_perms(uint8_t cap_id, bool ext) {
  if (ext) return tables().ecap[cap_id <= VfioPciConfig::kExtCapIdMax ? cap_id : 0];
  return tables().cap[cap_id <= VfioPciConfig::kCapIdMax ? cap_id : 0];
}

const perm_bits& unassigned_perms() { return tables().unassigned; }

// pci_cap_length[] of 6.1: 0 hides the capability, 0xFF asks vfio_cap_len().
int config_cap_length(uint8_t cap) {
  switch (cap) {
    case PCI_CAP_ID_PM: return PCI_PM_SIZEOF;
    case PCI_CAP_ID_AGP: return PCI_AGP_SIZEOF;
    case PCI_CAP_ID_VPD: return PCI_CAP_VPD_SIZEOF;
    case PCI_CAP_ID_MSI:
    case PCI_CAP_ID_PCIX:
    case PCI_CAP_ID_HT:
    case PCI_CAP_ID_VNDR:
    case PCI_CAP_ID_EXP:
    case PCI_CAP_ID_SATA: return 0xFF;
    case PCI_CAP_ID_MSIX: return PCI_CAP_MSIX_SIZEOF;
    case PCI_CAP_ID_AF: return PCI_CAP_AF_SIZEOF;
    default: return 0;  // slot ID, CompactPCI, debug port, SHPC, SSVID, AGP3, secure device, EA
  }
}

// pci_ext_cap_length[] of 6.1.
int config_ext_cap_length(uint16_t ecap) {
  switch (ecap) {
    case PCI_EXT_CAP_ID_ERR: return PCI_ERR_ROOT_COMMAND;
    case PCI_EXT_CAP_ID_VC:
    case PCI_EXT_CAP_ID_MFVC:
    case PCI_EXT_CAP_ID_VC9:
    case PCI_EXT_CAP_ID_VNDR:
    case PCI_EXT_CAP_ID_ACS:
    case PCI_EXT_CAP_ID_REBAR:
    case PCI_EXT_CAP_ID_DPA:
    case PCI_EXT_CAP_ID_TPH: return 0xFF;
    case PCI_EXT_CAP_ID_DSN: return PCI_EXT_CAP_DSN_SIZEOF;
    case PCI_EXT_CAP_ID_PWR: return PCI_EXT_CAP_PWR_SIZEOF;
    case PCI_EXT_CAP_ID_ARI: return PCI_EXT_CAP_ARI_SIZEOF;
    case PCI_EXT_CAP_ID_ATS: return PCI_EXT_CAP_ATS_SIZEOF;
    case PCI_EXT_CAP_ID_SRIOV: return PCI_EXT_CAP_SRIOV_SIZEOF;
    case PCI_EXT_CAP_ID_MCAST: return PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF;
    case PCI_EXT_CAP_ID_PRI: return PCI_EXT_CAP_PRI_SIZEOF;
    case PCI_EXT_CAP_ID_LTR: return PCI_EXT_CAP_LTR_SIZEOF;
    default: return 0;  // root-complex-only, CAC, MR-IOV, secondary PCIe, PMUX, PASID, and newer IDs
  }
}

// init_pci_cap_msi_perm(): per device, as the length depends on the flags.
void init_pci_cap_msi_perm(perm_bits& perm, int len, uint16_t flags) {
  alloc_perm_bits(perm, len);
  perm.readfn = &VfioPciConfig::msi_read;
  perm.writefn = &VfioPciConfig::msi_write;
  p_setb(perm, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p_setb(perm, PCI_MSI_FLAGS, ALL_VIRT, ALL_WRITE);  // the upper byte is reserved
  p_setd(perm, PCI_MSI_ADDRESS_LO, ALL_VIRT, ALL_WRITE);
  if (flags & PCI_MSI_FLAGS_64BIT) {
    p_setd(perm, PCI_MSI_ADDRESS_HI, ALL_VIRT, ALL_WRITE);
    p_setw(perm, PCI_MSI_DATA_64, ALL_VIRT, ALL_WRITE);
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
      p_setd(perm, PCI_MSI_MASK_64, NO_VIRT, ALL_WRITE);
      p_setd(perm, PCI_MSI_PENDING_64, NO_VIRT, ALL_WRITE);
    }
  } else {
    p_setw(perm, PCI_MSI_DATA_32, ALL_VIRT, ALL_WRITE);
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
      p_setd(perm, PCI_MSI_MASK_32, NO_VIRT, ALL_WRITE);
      p_setd(perm, PCI_MSI_PENDING_32, NO_VIRT, ALL_WRITE);
    }
  }
}

namespace {
bool is_bar(int offset) {
  return (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_5 + 4) ||
         (offset >= PCI_ROM_ADDRESS && offset < PCI_ROM_ADDRESS + 4);
}
}  // namespace

// vfio_basic_config_read(): BARs sized on the first read after a write.
int VfioPciConfig::basic_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val) {
  if (is_bar(offset) && bardirty_) bar_fixup();
  count = default_read(pos, count, perm, offset, val);
  if (offset == PCI_COMMAND && dev_.is_virtfn)  // no_command_memory: the virtual memory enable
    val |= vget(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
  return count;
}

// vfio_basic_config_write()
int VfioPciConfig::basic_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  uint16_t new_cmd = 0;
  if (offset == PCI_COMMAND) {
    const uint16_t phys_cmd = static_cast<uint16_t>(user_read(PCI_COMMAND, 2));
    const uint16_t virt_cmd = static_cast<uint16_t>(vget(PCI_COMMAND, 2));
    new_cmd = static_cast<uint16_t>(val);
    const bool phys_io = phys_cmd & PCI_COMMAND_IO, virt_io = virt_cmd & PCI_COMMAND_IO, new_io = new_cmd & PCI_COMMAND_IO;
    const bool phys_mem = phys_cmd & PCI_COMMAND_MEMORY, virt_mem = virt_cmd & PCI_COMMAND_MEMORY;
    const bool new_mem = new_cmd & PCI_COMMAND_MEMORY;
    // Enabling decode that we think is on but the hardware shows off: the device was reset
    // behind our back, so its BARs go back first.
    if ((new_mem && virt_mem && !phys_mem && !dev_.is_virtfn) || (new_io && virt_io && !phys_io) || need_bar_restore())
      bar_restore();
  }
  count = default_write(pos, count, perm, offset, val);
  if (offset == PCI_COMMAND) {  // remember the enables for the test above next time
    const uint32_t mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
    vput(PCI_COMMAND, 2, (vget(PCI_COMMAND, 2) & ~mask) | (new_cmd & mask));
  }
  if (offset >= PCI_COMMAND && offset <= PCI_COMMAND + 1 && hooks_.intx_disable)  // emulate INTx Disable
    hooks_.intx_disable(vget(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
  if (is_bar(offset)) bardirty_ = true;
  return count;
}

// vfio_pm_config_write(): a power-state write goes through vfio_pci_set_power_state().
int VfioPciConfig::pm_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  count = default_write(pos, count, perm, offset, val);
  if (offset == PCI_PM_CTRL && hooks_.set_power_state)
    hooks_.set_power_state(static_cast<int>(val & PCI_PM_CTRL_STATE_MASK));  // D0 .. D3hot
  return count;
}

// vfio_msi_config_read(): Multiple Message Capable shows what SET_IRQS allocated.
int VfioPciConfig::msi_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val) {
  if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
    const unsigned start = find_cap_start(static_cast<unsigned>(pos));
    const unsigned qmax = hooks_.msi_qmax ? hooks_.msi_qmax() : 0;
    vput(start + PCI_MSI_FLAGS, 2, (vget(start + PCI_MSI_FLAGS, 2) & ~uint32_t{PCI_MSI_FLAGS_QMASK}) | (qmax << 1));
  }
  return default_read(pos, count, perm, offset, val);
}

// vfio_msi_config_write(): the enable bit only while MSI is on through SET_IRQS; the queue size
// no more than allocated; the result written to hardware too.
int VfioPciConfig::msi_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  count = default_write(pos, count, perm, offset, val);
  if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
    const unsigned start = find_cap_start(static_cast<unsigned>(pos));
    uint32_t flags = vget(start + PCI_MSI_FLAGS, 2);
    if (!hooks_.msi_enabled || !hooks_.msi_enabled()) flags &= ~uint32_t{PCI_MSI_FLAGS_ENABLE};
    const unsigned qmax = hooks_.msi_qmax ? hooks_.msi_qmax() : 0;
    if (((flags & PCI_MSI_FLAGS_QSIZE) >> 4) > qmax) flags = (flags & ~uint32_t{PCI_MSI_FLAGS_QSIZE}) | (qmax << 4);
    vput(start + PCI_MSI_FLAGS, 2, flags);
    user_write(start + PCI_MSI_FLAGS, 2, flags);
  }
  return count;
}

// vfio_exp_config_write(): FLR resets the function (if Device Capabilities has FLR) and reads
// back 0; MPS stays virtual; a changed MRRS goes to hardware, no lower than the hardware MPS.
int VfioPciConfig::exp_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  const unsigned start = static_cast<unsigned>(pos - offset);
  const unsigned ctrl = start + PCI_EXP_DEVCTL;
  const uint32_t readrq = vget(ctrl, 2) & PCI_EXP_DEVCTL_READRQ;
  count = default_write(pos, count, perm, offset, val);
  if (vget(ctrl, 2) & PCI_EXP_DEVCTL_BCR_FLR) {
    vput(ctrl, 2, vget(ctrl, 2) & ~uint32_t{PCI_EXP_DEVCTL_BCR_FLR});
    if ((user_read(start + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) && hooks_.reset) hooks_.reset();
  }
  const uint32_t new_readrq = vget(ctrl, 2) & PCI_EXP_DEVCTL_READRQ;
  if (readrq != new_readrq) {  // pcie_set_readrq(max(requested, pcie_get_mps()))
    const uint32_t hw = user_read(ctrl, 2);
    uint32_t rq = 128u << (new_readrq >> 12);
    const uint32_t mps = 128u << ((hw & PCI_EXP_DEVCTL_PAYLOAD) >> 5);
    if (rq < mps) rq = mps;
    unsigned enc = 0;
    while ((128u << enc) < rq) ++enc;
    user_write(ctrl, 2, (hw & ~uint32_t{PCI_EXP_DEVCTL_READRQ}) | (enc << 12));
  }
  return count;
}

// vfio_vpd_config_write(): a write that includes the address register's upper byte (the F flag)
// starts a transfer: F = 1 writes the data register's dword to the device's VPD, F = 0 reads the
// dword into it; on success F toggles to say it is done (a failure leaves it, and the user times
// out, as on hardware).
int VfioPciConfig::vpd_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  const unsigned start = static_cast<unsigned>(pos - offset);
  count = default_write(pos, count, perm, offset, val);
  if (offset > PCI_VPD_ADDR + 1 || offset + count <= PCI_VPD_ADDR + 1) return count;
  const uint32_t addr = vget(start + PCI_VPD_ADDR, 2);
  uint8_t data[4];
  if (addr & PCI_VPD_ADDR_F) {
    const uint32_t v = vget(start + PCI_VPD_DATA, 4);
    for (int i = 0; i < 4; ++i) data[i] = static_cast<uint8_t>(v >> (8 * i));
    if (pci_.pci_write_vpd(dev_, addr & ~uint32_t{PCI_VPD_ADDR_F}, 4, data) != 4) return count;
  } else {
    for (auto& b : data) b = 0;
    if (pci_.pci_read_vpd(dev_, addr, 4, data) < 0) return count;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(data[i]) << (8 * i);
    vput(start + PCI_VPD_DATA, 4, v);
  }
  vput(start + PCI_VPD_ADDR, 2, addr ^ PCI_VPD_ADDR_F);  // completion
  return count;
}

// vfio_af_config_write(): FLR through Advanced Features when it has FLR and Transactions Pending.
int VfioPciConfig::af_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  const unsigned start = static_cast<unsigned>(pos - offset);
  count = default_write(pos, count, perm, offset, val);
  if (vconfig_[start + PCI_AF_CTRL] & PCI_AF_CTRL_FLR) {
    vconfig_[start + PCI_AF_CTRL] &= static_cast<uint8_t>(~PCI_AF_CTRL_FLR);
    const uint32_t cap = user_read(start + PCI_AF_CAP, 1);
    if ((cap & PCI_AF_CAP_FLR) && (cap & PCI_AF_CAP_TP) && hooks_.reset) hooks_.reset();
  }
  return count;
}

}  // namespace vfiosim::kernel
