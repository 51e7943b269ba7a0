// vfio_pci_config.c, core part: vfio_config_init with the capability walks and hiding, the access
// path (vfio_config_do_rw) and the default, direct and raw handlers, BAR fixup and restore. The
// permission tables and the capability-specific handlers are in vfio_pci_config_perms.cpp.
#include "vfio/linux/drivers/vfio/pci/vfio_pci_config.h"

#include <linux/pci_regs.h>

#include <cerrno>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

const perm_bits& config_perms(uint8_t cap_id, bool ext);  // vfio_pci_config_perms.cpp
const perm_bits& unassigned_perms();
int config_cap_length(uint8_t cap);                       // pci_cap_length[]: 0 hidden, 0xFF variable
int config_ext_cap_length(uint16_t ecap);                 // pci_ext_cap_length[]
void init_pci_cap_msi_perm(perm_bits& perm, int len, uint16_t flags);

namespace {
uint32_t bytes_mask(int count) { return count >= 4 ? ~0u : (1u << (8 * count)) - 1; }
uint32_t perm_word(const std::vector<uint8_t>& bits, int offset, int count) {
  uint32_t v = 0;
  for (int i = 0; i < count; ++i)
    if (static_cast<size_t>(offset + i) < bits.size()) v |= static_cast<uint32_t>(bits[offset + i]) << (8 * i);
  return v;
}
}  // namespace

VfioPciConfig::VfioPciConfig(PciCore& pci, pci_dev& dev, Hooks hooks)
    : pci_(pci), dev_(dev), hooks_(std::move(hooks)), vconfig_(4096, 0), map_(4096, PCI_CAP_ID_INVALID) {}

uint32_t VfioPciConfig::vget(unsigned off, unsigned len) const {
  uint32_t v = 0;
  for (unsigned i = 0; i < len; ++i) v |= static_cast<uint32_t>(vconfig_[off + i]) << (8 * i);
  return v;
}

void VfioPciConfig::vput(unsigned off, unsigned len, uint32_t value) {
  for (unsigned i = 0; i < len; ++i) vconfig_[off + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t VfioPciConfig::user_read(unsigned pos, unsigned count) {
  return pci_.read_config(dev_, static_cast<int>(pos), static_cast<int>(count));
}

void VfioPciConfig::user_write(unsigned pos, unsigned count, uint32_t value) {
  pci_.write_config(dev_, static_cast<int>(pos), static_cast<int>(count), value);
}

// vfio_fill_vconfig_bytes(): copy the hardware bytes in, aligned pieces at a time.
void VfioPciConfig::fill_vconfig_bytes(unsigned offset, unsigned size) {
  while (size) {
    unsigned n = 1;
    if (size >= 4 && !(offset % 4)) n = 4;
    else if (size >= 2 && !(offset % 2)) n = 2;
    vput(offset, n, user_read(offset, n));
    offset += n;
    size -= n;
  }
}

// vfio_config_init()
int VfioPciConfig::init() {
  const unsigned cfg_size = dev_.is_pcie() ? 4096 : 256;
  std::fill(vconfig_.begin(), vconfig_.end(), 0);
  std::fill(map_.begin(), map_.begin() + cfg_size, PCI_CAP_ID_INVALID);
  std::fill(map_.begin(), map_.begin() + PCI_STD_HEADER_SIZEOF, PCI_CAP_ID_BASIC);
  fill_vconfig_bytes(0, PCI_STD_HEADER_SIZEOF);
  bardirty_ = true;
  for (int i = 0; i < 6; ++i) rbar_[i] = vget(PCI_BASE_ADDRESS_0 + 4 * i, 4);  // for restore after reset
  rbar_[6] = vget(PCI_ROM_ADDRESS, 4);
  if (dev_.is_virtfn) {  // the IDs a VF reads as 0xFFFF, and a pin that must be 0
    vput(PCI_VENDOR_ID, 2, dev_.vendor);
    vput(PCI_DEVICE_ID, 2, dev_.device);
    vconfig_[PCI_INTERRUPT_PIN] = 0;
    // no_command_memory: the virtual memory enable stands for the PF's VF MSE.
    vput(PCI_COMMAND, 2, vget(PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
  }
  if (int ret = cap_init()) return ret;
  return ecap_init();
}

// vfio_cap_len(): the length of a variable-length standard capability.
int VfioPciConfig::cap_len(uint8_t cap, unsigned pos) {
  switch (cap) {
    case PCI_CAP_ID_MSI: {
      const uint16_t flags = static_cast<uint16_t>(user_read(pos + PCI_MSI_FLAGS, 2));
      int len = PCI_MSI_MASK_32;  // 10 bytes, then the optional parts
      if (flags & PCI_MSI_FLAGS_64BIT) len += 4;
      if (flags & PCI_MSI_FLAGS_MASKBIT) len += 10;
      init_pci_cap_msi_perm(msi_perm_, len, flags);  // vfio_msi_cap_len()
      return len;
    }
    case PCI_CAP_ID_PCIX: {
      const uint16_t word = static_cast<uint16_t>(user_read(pos + PCI_X_CMD, 2));
      if (PCI_X_CMD_VERSION(word)) {
        extended_caps_ = user_read(PCI_CFG_SPACE_SIZE, 4) != 0;
        return PCI_CAP_PCIX_SIZEOF_V2;
      }
      return PCI_CAP_PCIX_SIZEOF_V0;
    }
    case PCI_CAP_ID_VNDR:
      return static_cast<int>(user_read(pos + PCI_CAP_FLAGS, 1));  // the length follows next
    case PCI_CAP_ID_EXP: {
      extended_caps_ = user_read(PCI_CFG_SPACE_SIZE, 4) != 0;  // any extended capabilities?
      const uint16_t flags = static_cast<uint16_t>(user_read(pos + PCI_EXP_FLAGS, 2));
      const bool rc_end = ((flags & PCI_EXP_FLAGS_TYPE) >> 4) == PCI_EXP_TYPE_RC_END;
      if ((flags & PCI_EXP_FLAGS_VERS) == 1) return rc_end ? 0xC : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
      return rc_end ? 0x2C : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
    }
    case PCI_CAP_ID_HT: {
      const uint8_t type = static_cast<uint8_t>(user_read(pos + 3, 1));
      return (type & 0xE0) ? 20 : 24;  // HT_3BIT_CAP_MASK: HT_CAP_SIZEOF_SHORT / _LONG
    }
    case PCI_CAP_ID_SATA: {
      const uint8_t cr1 = static_cast<uint8_t>(user_read(pos + PCI_SATA_REGS, 1)) & PCI_SATA_REGS_MASK;
      return cr1 == PCI_SATA_REGS_INLINE ? PCI_SATA_SIZEOF_LONG : PCI_SATA_SIZEOF_SHORT;
    }
    default:
      kernel_warn("pci_warn", dev_.name() + ": vfio_cap_len: unknown length for PCI cap " + std::to_string(cap));
      return 0;
  }
}

// vfio_ext_cap_len(): the length of a variable-length extended capability.
int VfioPciConfig::ext_cap_len(uint16_t ecap, unsigned epos) {
  switch (ecap) {
    case PCI_EXT_CAP_ID_VNDR:
      return static_cast<int>(user_read(epos + PCI_VNDR_HEADER, 4) >> 20);
    case PCI_EXT_CAP_ID_VC:
    case PCI_EXT_CAP_ID_VC9:
    case PCI_EXT_CAP_ID_MFVC: {  // vfio_vc_cap_len()
      const uint32_t reg1 = user_read(epos + PCI_VC_PORT_CAP1, 4);
      const uint32_t reg2 = user_read(epos + PCI_VC_PORT_CAP2, 4);
      const int evcc = static_cast<int>(reg1 & PCI_VC_CAP1_EVCC);
      int ph = 0;
      if (reg2 & PCI_VC_CAP2_128_PHASE) ph = 128;
      else if (reg2 & PCI_VC_CAP2_64_PHASE) ph = 64;
      else if (reg2 & PCI_VC_CAP2_32_PHASE) ph = 32;
      int len = PCI_CAP_VC_BASE_SIZEOF + (1 + evcc) * PCI_CAP_VC_PER_VC_SIZEOF;
      if (ph) len = ((len + 15) & ~15) + ph * 4 / 8;
      return len;
    }
    case PCI_EXT_CAP_ID_ACS: {
      const uint8_t cap = static_cast<uint8_t>(user_read(epos + PCI_ACS_CAP, 1));
      int len = 8;
      if (cap & PCI_ACS_EC) {
        int bits = static_cast<int>(user_read(epos + PCI_ACS_EGRESS_BITS, 1));
        if (!bits) bits = 256;
        len += ((bits + 31) & ~31) / 8;
      }
      return len;
    }
    case PCI_EXT_CAP_ID_REBAR: {
      const uint8_t ctrl = static_cast<uint8_t>(user_read(epos + PCI_REBAR_CTRL, 1));
      return 4 + static_cast<int>((ctrl & PCI_REBAR_CTRL_NBAR_MASK) >> PCI_REBAR_CTRL_NBAR_SHIFT) * 8;
    }
    case PCI_EXT_CAP_ID_DPA: {
      const uint8_t cap = static_cast<uint8_t>(user_read(epos + PCI_DPA_CAP, 1)) & PCI_DPA_CAP_SUBSTATE_MASK;
      return PCI_DPA_BASE_SIZEOF + ((cap + 1 + 3) & ~3);
    }
    case PCI_EXT_CAP_ID_TPH: {
      const uint32_t cap = user_read(epos + PCI_TPH_CAP, 4);
      int len = PCI_TPH_BASE_SIZEOF;
      if ((cap & PCI_TPH_CAP_LOC_MASK) == PCI_TPH_LOC_CAP)
        len += ((2 * static_cast<int>((cap & PCI_TPH_CAP_ST_MASK) >> PCI_TPH_CAP_ST_SHIFT)) + 3) & ~3;
      return len;
    }
    default:
      kernel_warn("pci_warn", dev_.name() + ": vfio_ext_cap_len: unknown length for PCI ecap " + std::to_string(ecap));
      return 0;
  }
}

// vfio_cap_init(): map each capability; one with no length is hidden by pointing the previous
// "next" (in vconfig) past it, leaving its bytes as gaps.
int VfioPciConfig::cap_init() {
  if (!(user_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return 0;
  unsigned pos = user_read(PCI_CAPABILITY_LIST, 1);
  unsigned prev = PCI_CAPABILITY_LIST;  // where the pointer to `pos` lives in vconfig
  int caps = 0;
  for (int loops = (PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / PCI_CAP_SIZEOF; pos && loops--;) {
    const uint8_t cap = static_cast<uint8_t>(user_read(pos, 1));
    const uint8_t next = static_cast<uint8_t>(user_read(pos + PCI_CAP_LIST_NEXT, 1));
    int len = 0;
    // ID 0 is a NULL capability, and it would collide with PCI_CAP_ID_BASIC: hidden.
    if (cap && cap <= kCapIdMax) {
      len = config_cap_length(cap);
      if (len == 0xFF) len = cap_len(cap, pos);
      if (len < 0) return len;
    }
    if (!len) {
      kernel_warn("pci_dbg", dev_.name() + ": vfio_cap_init: hiding cap " + std::to_string(cap) + "@" + std::to_string(pos));
      vconfig_[prev] = next;
      pos = next;
      continue;
    }
    for (int i = 0; i < len; ++i)
      if (map_[pos + i] != PCI_CAP_ID_INVALID)
        kernel_warn("pci_warn", dev_.name() + ": vfio_cap_init: PCI config conflict at " + std::to_string(pos + i));
    std::fill_n(map_.begin() + pos, static_cast<size_t>(len), cap);
    fill_vconfig_bytes(pos, static_cast<unsigned>(len));
    prev = pos + PCI_CAP_LIST_NEXT;
    pos = next;
    ++caps;
  }
  if (!caps) vput(PCI_STATUS, 2, vget(PCI_STATUS, 2) & ~uint32_t{PCI_STATUS_CAP_LIST});
  // vfio_update_pm_vconfig_bytes(): the user sees no PME support and PME_En/PME_Status at 0.
  if (dev_.pm_cap && map_[dev_.pm_cap] == PCI_CAP_ID_PM) {
    vput(dev_.pm_cap + PCI_PM_PMC, 2, vget(dev_.pm_cap + PCI_PM_PMC, 2) & ~uint32_t{PCI_PM_CAP_PME_MASK});
    vput(dev_.pm_cap + PCI_PM_CTRL, 2,
         vget(dev_.pm_cap + PCI_PM_CTRL, 2) & ~uint32_t{PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS});
  }
  return 0;
}

// vfio_ecap_init(): a hidden extended capability is skipped through the previous header's next
// field, or, at 0x100, replaced by a placeholder header with ID and version 0.
int VfioPciConfig::ecap_init() {
  if (!extended_caps_) return 0;
  const unsigned cfg_size = dev_.is_pcie() ? 4096 : 256;
  unsigned epos = PCI_CFG_SPACE_SIZE;
  int prev = -1;
  int ecaps = 0;
  for (int loops = static_cast<int>(cfg_size - PCI_CFG_SPACE_SIZE) / PCI_CAP_SIZEOF; loops-- && epos >= PCI_CFG_SPACE_SIZE;) {
    const uint32_t header = user_read(epos, 4);
    const uint16_t ecap = PCI_EXT_CAP_ID(header);
    int len = 0;
    bool hidden = false;
    if (ecap <= kExtCapIdMax) {
      len = config_ext_cap_length(ecap);
      if (len == 0xFF) len = ext_cap_len(ecap, epos);
      if (len < 0) return len;
    }
    if (!len) {
      kernel_warn("pci_dbg", dev_.name() + ": vfio_ecap_init: hiding ecap " + std::to_string(ecap) + "@" + std::to_string(epos));
      if (prev >= 0) {  // not the first: skip over it
        epos = PCI_EXT_CAP_NEXT(header);
        vput(static_cast<unsigned>(prev), 4, (vget(static_cast<unsigned>(prev), 4) & ~(0xFFCu << 20)) | (epos << 20));
        continue;
      }
      len = PCI_CAP_SIZEOF;  // the first anchors the list: a placeholder the direct read serves
      hidden = true;
    }
    for (int i = 0; i < len; ++i)
      if (map_[epos + i] != PCI_CAP_ID_INVALID)
        kernel_warn("pci_warn", dev_.name() + ": vfio_ecap_init: PCI config conflict at " + std::to_string(epos + i));
    std::fill_n(map_.begin() + epos, static_cast<size_t>(len), static_cast<uint8_t>(ecap));
    fill_vconfig_bytes(epos, static_cast<unsigned>(len));
    if (hidden)
      vput(epos, 4, vget(epos, 4) & (0xFFCu << 20));  // ID 0, version 0, the next pointer kept
    else
      ++ecaps;
    prev = static_cast<int>(epos);
    epos = PCI_EXT_CAP_NEXT(header);
  }
  if (!ecaps) vput(PCI_CFG_SPACE_SIZE, 4, 0);
  return 0;
}

// vfio_find_cap_start(): back to the first byte mapped to the same capability (dword aligned
// for the extended ones).
unsigned VfioPciConfig::find_cap_start(unsigned pos) const {
  const uint8_t cap = map_[pos];
  unsigned i = pos;
  while (i > 0 && map_[i - 1] == cap) --i;
  if (pos >= PCI_CFG_SPACE_SIZE) i &= ~3u;
  return i;
}

// vfio_pci_cap_remaining_dword(): bytes to the end of the dword still in the same capability.
unsigned VfioPciConfig::cap_remaining_dword(unsigned pos) const {
  const uint8_t cap = map_[pos];
  unsigned i = 1;
  while ((pos + i) % 4 && map_[pos + i] == cap) ++i;
  return i;
}

const perm_bits& VfioPciConfig::perm_for(uint8_t cap_id, unsigned pos) const {
  if (cap_id == PCI_CAP_ID_INVALID) return unassigned_perms();
  if (pos >= PCI_CFG_SPACE_SIZE) return config_perms(cap_id, true);
  if (cap_id == PCI_CAP_ID_MSI) return msi_perm_;
  return config_perms(cap_id, false);
}

// vfio_config_do_rw(): one piece within one capability.
int VfioPciConfig::do_rw(unsigned pos, unsigned count, bool write, uint32_t& val) {
  const uint8_t cap_id = map_[pos];
  const perm_bits& perm = perm_for(cap_id, pos);
  unsigned cap_start = pos;
  if (cap_id != PCI_CAP_ID_INVALID) cap_start = cap_id == PCI_CAP_ID_BASIC && pos < PCI_STD_HEADER_SIZEOF ? 0 : find_cap_start(pos);
  const int offset = static_cast<int>(pos - cap_start);
  if (write) {
    if (!perm.writefn) return static_cast<int>(count);  // dropped
    return (this->*perm.writefn)(static_cast<int>(pos), static_cast<int>(count), perm, offset, val);
  }
  if (perm.readfn) return (this->*perm.readfn)(static_cast<int>(pos), static_cast<int>(count), perm, offset, val);
  return static_cast<int>(count);
}

uint32_t VfioPciConfig::read(unsigned off, unsigned len) {
  uint32_t out = 0;
  for (unsigned done = 0; done < len;) {
    unsigned n = std::min(len - done, cap_remaining_dword(off + done));
    if (n == 3) n = (off + done) % 2 ? 1 : 2;
    uint32_t v = 0;
    do_rw(off + done, n, false, v);
    out |= (v & bytes_mask(static_cast<int>(n))) << (8 * done);
    done += n;
  }
  return out;
}

void VfioPciConfig::write(unsigned off, unsigned len, uint32_t value) {
  for (unsigned done = 0; done < len;) {
    unsigned n = std::min(len - done, cap_remaining_dword(off + done));
    if (n == 3) n = (off + done) % 2 ? 1 : 2;
    uint32_t v = (value >> (8 * done)) & bytes_mask(static_cast<int>(n));
    do_rw(off + done, n, true, v);
    done += n;
  }
}

// vfio_default_config_read(): virtual bits from vconfig, the rest from hardware.
int VfioPciConfig::default_read(int pos, int count, const perm_bits& perm, int offset, uint32_t& val) {
  val = vget(static_cast<unsigned>(pos), static_cast<unsigned>(count));
  const uint32_t virt = perm_word(perm.virt, offset, count);
  if (virt != bytes_mask(count)) {  // any non-virtualised bits?
    const uint32_t phys = user_read(static_cast<unsigned>(pos), static_cast<unsigned>(count));
    val = (phys & ~virt) | (val & virt);
  }
  return count;
}

// vfio_default_config_write(): writable virtual bits to vconfig, writable others to hardware.
int VfioPciConfig::default_write(int pos, int count, const perm_bits& perm, int offset, uint32_t val) {
  const uint32_t write = perm_word(perm.write, offset, count);
  if (!write) return count;  // drop if not writable
  const uint32_t virt = perm_word(perm.virt, offset, count);
  if (write & virt) {
    uint32_t v = vget(static_cast<unsigned>(pos), static_cast<unsigned>(count));
    v = (v & ~(write & virt)) | (val & (write & virt));
    vput(static_cast<unsigned>(pos), static_cast<unsigned>(count), v);
  }
  if (write & ~virt & bytes_mask(count)) {
    uint32_t phys = user_read(static_cast<unsigned>(pos), static_cast<unsigned>(count));
    phys = (phys & ~(write & ~virt)) | (val & (write & ~virt));
    user_write(static_cast<unsigned>(pos), static_cast<unsigned>(count), phys);
  }
  return count;
}

// vfio_direct_config_read(): hardware, but the chain pointers come from vconfig (the ID and next
// bytes of a standard capability, the header dword of an extended one).
int VfioPciConfig::direct_read(int pos, int count, const perm_bits&, int offset, uint32_t& val) {
  val = user_read(static_cast<unsigned>(pos), static_cast<unsigned>(count));
  if (pos >= PCI_CFG_SPACE_SIZE) {
    if (offset < 4) val = vget(static_cast<unsigned>(pos), static_cast<unsigned>(count));
  } else if (pos >= PCI_STD_HEADER_SIZEOF) {
    if (offset == PCI_CAP_LIST_ID && count > 1)
      val = (val & ~0xFFFFu) | vget(static_cast<unsigned>(pos), 2);
    else if (offset == PCI_CAP_LIST_NEXT)
      val = (val & ~0xFFu) | vconfig_[static_cast<unsigned>(pos)];
  }
  return count;
}

int VfioPciConfig::raw_read(int pos, int count, const perm_bits&, int, uint32_t& val) {
  val = user_read(static_cast<unsigned>(pos), static_cast<unsigned>(count));
  return count;
}

int VfioPciConfig::raw_write(int pos, int count, const perm_bits&, int, uint32_t val) {
  user_write(static_cast<unsigned>(pos), static_cast<unsigned>(count), val);
  return count;
}

// __vfio_pci_memory_enabled()
bool VfioPciConfig::memory_enabled() const {
  return dev_.current_state < PCI_D3hot && (dev_.is_virtfn || (vget(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY));
}

// vfio_bar_fixup(): the shadow BARs answer sizing from the host resources; an unassigned BAR
// reads 0.
void VfioPciConfig::bar_fixup() {
  for (int i = 0; i < 6; ++i) {
    const unsigned off = PCI_BASE_ADDRESS_0 + 4 * i;
    const resource& r = dev_.res[i];
    if (!r.start || !r.size()) {
      vput(off, 4, 0);
      continue;
    }
    const uint64_t mask = ~(r.size() - 1);
    uint32_t flags;  // vfio_generate_bar_flags()
    if (r.flags & IORESOURCE_IO) {
      flags = PCI_BASE_ADDRESS_SPACE_IO;
    } else {
      flags = PCI_BASE_ADDRESS_SPACE_MEMORY;
      if (r.flags & IORESOURCE_PREFETCH) flags |= PCI_BASE_ADDRESS_MEM_PREFETCH;
      if (r.flags & IORESOURCE_MEM_64) flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
    }
    vput(off, 4, (vget(off, 4) & static_cast<uint32_t>(mask)) | flags);
    if (flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
      vput(off + 4, 4, vget(off + 4, 4) & static_cast<uint32_t>(mask >> 32));
      ++i;
    }
  }
  const resource& rom = dev_.res[PCI_ROM_RESOURCE];
  if (rom.start && rom.size())
    vput(PCI_ROM_ADDRESS, 4, vget(PCI_ROM_ADDRESS, 4) & (static_cast<uint32_t>(~(rom.size() - 1)) | PCI_ROM_ADDRESS_ENABLE));
  else
    vput(PCI_ROM_ADDRESS, 4, 0);
  bardirty_ = false;
}

// vfio_need_bar_restore(): the hardware BARs no longer hold what the host assigned.
bool VfioPciConfig::need_bar_restore() {
  for (int i = 0; i < 6; ++i)
    if (rbar_[i] && user_read(PCI_BASE_ADDRESS_0 + 4 * i, 4) != rbar_[i]) return true;
  return false;
}

// vfio_bar_restore(): after a reset the device did behind our back.
void VfioPciConfig::bar_restore() {
  if (dev_.is_virtfn) return;
  kernel_warn("pci_info", dev_.name() + ": vfio_bar_restore: reset recovery - restoring BARs");
  for (int i = 0; i < 6; ++i) user_write(PCI_BASE_ADDRESS_0 + 4 * i, 4, rbar_[i]);
  user_write(PCI_ROM_ADDRESS, 4, rbar_[6]);
}

}  // namespace vfiosim::kernel
