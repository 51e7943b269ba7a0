#include "models/pci/config_builder.h"

#include <linux/pci_regs.h>

#include <stdexcept>

namespace vfiosim::pci {

namespace {
bool pow2(uint64_t v) { return v && !(v & (v - 1)); }
uint32_t log2_of(uint32_t v) {
  uint32_t n = 0;
  while (v > 1) {
    v >>= 1;
    ++n;
  }
  return n;
}

// Command bits software may set on a PCIe function (A1.1).
constexpr uint32_t kClassBridgePci = 0x060400;  // PCI-to-PCI bridge, normal decode (pci_ids.h)

constexpr uint16_t kCommandWmask = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                                   PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
constexpr uint16_t kStatusW1c = PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT |
                                PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY;
}  // namespace

uint32_t BarSpec::flags() const {
  switch (kind) {
    case Kind::Io: return PCI_BASE_ADDRESS_SPACE_IO;
    case Kind::Mem32: return PCI_BASE_ADDRESS_MEM_TYPE_32 | (prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    case Kind::Mem64: return PCI_BASE_ADDRESS_MEM_TYPE_64 | (prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    case Kind::None: return 0;
  }
  return 0;
}

void ConfigBuilder::type0(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision,
                          bool multifunction, uint8_t interrupt_pin) {
  cfg_.init(PCI_VENDOR_ID, 2, vendor);
  cfg_.init(PCI_DEVICE_ID, 2, device);
  cfg_.init(PCI_COMMAND, 2, 0, kCommandWmask);
  cfg_.init(PCI_STATUS, 2, 0, 0, kStatusW1c);
  cfg_.init(PCI_CLASS_REVISION, 4, (class_code << 8) | revision);
  cfg_.init(PCI_CACHE_LINE_SIZE, 1, 0, 0xFF);
  cfg_.init(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL | (multifunction ? 0x80 : 0));
  cfg_.init(PCI_INTERRUPT_LINE, 1, 0, 0xFF);
  cfg_.init(PCI_INTERRUPT_PIN, 1, interrupt_pin);
}

void ConfigBuilder::type1(uint16_t vendor, uint16_t device, bool multifunction) {
  cfg_.init(PCI_VENDOR_ID, 2, vendor);
  cfg_.init(PCI_DEVICE_ID, 2, device);
  cfg_.init(PCI_COMMAND, 2, 0, kCommandWmask);
  cfg_.init(PCI_STATUS, 2, 0, 0, kStatusW1c);
  cfg_.init(PCI_CLASS_REVISION, 4, kClassBridgePci << 8);
  cfg_.init(PCI_CACHE_LINE_SIZE, 1, 0, 0xFF);
  cfg_.init(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_BRIDGE | (multifunction ? 0x80 : 0));
  cfg_.init(PCI_PRIMARY_BUS, 1, 0, 0xFF);
  cfg_.init(PCI_SECONDARY_BUS, 1, 0, 0xFF);
  cfg_.init(PCI_SUBORDINATE_BUS, 1, 0, 0xFF);
  cfg_.init(PCI_IO_BASE, 1, PCI_IO_RANGE_TYPE_32, 0xF0);
  cfg_.init(PCI_IO_LIMIT, 1, PCI_IO_RANGE_TYPE_32, 0xF0);
  cfg_.init(PCI_SEC_STATUS, 2, 0, 0, kStatusW1c);
  cfg_.init(PCI_MEMORY_BASE, 2, 0, 0xFFF0);
  cfg_.init(PCI_MEMORY_LIMIT, 2, 0, 0xFFF0);
  cfg_.init(PCI_PREF_MEMORY_BASE, 2, PCI_PREF_RANGE_TYPE_64, 0xFFF0);
  cfg_.init(PCI_PREF_MEMORY_LIMIT, 2, PCI_PREF_RANGE_TYPE_64, 0xFFF0);
  cfg_.init(PCI_PREF_BASE_UPPER32, 4, 0, 0xFFFFFFFF);
  cfg_.init(PCI_PREF_LIMIT_UPPER32, 4, 0, 0xFFFFFFFF);
  cfg_.init(PCI_IO_BASE_UPPER16, 2, 0, 0xFFFF);
  cfg_.init(PCI_IO_LIMIT_UPPER16, 2, 0, 0xFFFF);
  cfg_.init(PCI_INTERRUPT_LINE, 1, 0, 0xFF);
  cfg_.init(PCI_BRIDGE_CONTROL, 2, 0,
            PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR | PCI_BRIDGE_CTL_ISA | PCI_BRIDGE_CTL_VGA |
                PCI_BRIDGE_CTL_BUS_RESET);
}

void ConfigBuilder::bar(int index, const BarSpec& spec) {
  if (index < 0 || index > 5) throw std::invalid_argument("BAR index must be 0..5");
  bar_at(PCI_BASE_ADDRESS_0 + 4 * static_cast<uint32_t>(index), index, spec);
}

void ConfigBuilder::bar_at(uint32_t reg, int index, const BarSpec& spec) {
  if (spec.kind == BarSpec::Kind::None) return;
  const uint64_t min = spec.kind == BarSpec::Kind::Io ? 4 : 16;
  if (!pow2(spec.size) || spec.size < min) throw std::invalid_argument("BAR size must be a power of two");
  const uint64_t mask = ~(spec.size - 1);
  if (spec.kind == BarSpec::Kind::Io) {
    cfg_.init(reg, 4, spec.flags(), static_cast<uint32_t>(mask) & ~0x3u);
  } else if (spec.kind == BarSpec::Kind::Mem32) {
    cfg_.init(reg, 4, spec.flags(), static_cast<uint32_t>(mask) & ~0xFu);
  } else {
    if (index == 5) throw std::invalid_argument("a 64-bit BAR cannot start at BAR5");
    cfg_.init(reg, 4, spec.flags(), static_cast<uint32_t>(mask) & ~0xFu);
    cfg_.init(reg + 4, 4, 0, static_cast<uint32_t>(mask >> 32));
  }
}

void ConfigBuilder::rom(uint32_t size, bool type1) {
  if (!pow2(size) || size < 2048) throw std::invalid_argument("ROM size must be a power of two >= 2 KiB");
  cfg_.init(type1 ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS, 4, 0, (~(size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
}

uint8_t ConfigBuilder::add_cap(uint8_t id, uint8_t len) {
  const uint8_t off = next_std_;
  if (off + len > 0x100) throw std::length_error("standard capabilities overflow the 256-byte header space");
  cfg_.init(off, 1, id);
  cfg_.init(off + 1, 1, 0);
  if (last_std_) cfg_.set(last_std_ + 1, 1, off);
  else cfg_.init(PCI_CAPABILITY_LIST, 1, off);
  cfg_.set(PCI_STATUS, 2, cfg_.get(PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
  last_std_ = off;
  next_std_ = static_cast<uint8_t>((off + len + 3) & ~3);
  return off;
}

uint16_t ConfigBuilder::add_ext_cap(uint16_t id, uint8_t version, uint16_t len) {
  if (cfg_.size() <= 0x100) throw std::logic_error("extended capabilities need PCIe config space");
  const uint16_t off = next_ext_;
  if (off + len > cfg_.size()) throw std::length_error("extended capabilities overflow config space");
  cfg_.init(off, 4, static_cast<uint32_t>(id) | (static_cast<uint32_t>(version) << 16));
  if (last_ext_) cfg_.set(last_ext_, 4, cfg_.get(last_ext_, 4) | (static_cast<uint32_t>(off) << 20));
  last_ext_ = off;
  next_ext_ = static_cast<uint16_t>((off + len + 3) & ~3);
  return off;
}

uint8_t ConfigBuilder::add_pm() {
  const uint8_t off = add_cap(PCI_CAP_ID_PM, PCI_PM_SIZEOF);
  cfg_.init(off + PCI_PM_PMC, 2, 3);                                // version 3
  cfg_.init(off + PCI_PM_CTRL, 2, 0, PCI_PM_CTRL_STATE_MASK, PCI_PM_CTRL_PME_STATUS);
  return off;
}

uint8_t ConfigBuilder::add_vpd() {
  const uint8_t off = add_cap(PCI_CAP_ID_VPD, PCI_CAP_VPD_SIZEOF);
  cfg_.init(off + PCI_VPD_ADDR, 2, 0, 0xFFFF);
  cfg_.init(off + PCI_VPD_DATA, 4, 0, 0xFFFFFFFF);
  return off;
}

uint8_t ConfigBuilder::add_pcie(const PcieCapSpec& s) {
  const bool link = s.link_gen != 0;
  const uint8_t off = add_cap(PCI_CAP_ID_EXP, link ? PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 : PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2);
  cfg_.init(off + PCI_EXP_FLAGS, 2, 2 | (static_cast<uint32_t>(s.type) << 4));
  cfg_.init(off + PCI_EXP_DEVCAP, 4, log2_of(s.mps_supported / 128) | (s.flr ? PCI_EXP_DEVCAP_FLR : 0));
  // Device Control: MPS and MRRS fields and the error/RO/no-snoop enables are RW; bit 15 (FLR)
  // is a command the device model acts on, and reads 0.
  cfg_.init(off + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | (2u << 12),
            0x7FFF);
  cfg_.init(off + PCI_EXP_DEVSTA, 2, 0, 0, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED |
                                            PCI_EXP_DEVSTA_URD);
  if (link) {
    cfg_.init(off + PCI_EXP_LNKCAP, 4, s.link_gen | (s.link_width << 4));
    cfg_.init(off + PCI_EXP_LNKCTL, 2, s.rcb_128 ? PCI_EXP_LNKCTL_RCB : 0,
              s.type == PortType::RootPort ? 0 : PCI_EXP_LNKCTL_RCB);
    cfg_.init(off + PCI_EXP_LNKSTA, 2, s.link_gen | (s.link_width << 4));
    cfg_.init(off + PCI_EXP_LNKCAP2, 4, ((1u << s.link_gen) - 1) << 1);
  }
  const bool port = s.type == PortType::RootPort || s.type == PortType::DownstreamPort;
  cfg_.init(off + PCI_EXP_DEVCAP2, 4, port ? PCI_EXP_DEVCAP2_ARI : 0);
  cfg_.init(off + PCI_EXP_DEVCTL2, 2, 0, port ? PCI_EXP_DEVCTL2_ARI | 0xF : 0xF);
  return off;
}

uint8_t ConfigBuilder::add_msi(unsigned vectors_log2, bool is64, bool maskable) {
  const uint8_t len = static_cast<uint8_t>((is64 ? 14 : 10) + (maskable ? 10 : 0));
  const uint8_t off = add_cap(PCI_CAP_ID_MSI, len);
  const uint16_t flags = static_cast<uint16_t>((vectors_log2 << 1) | (is64 ? PCI_MSI_FLAGS_64BIT : 0) |
                                               (maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
  cfg_.init(off + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
  cfg_.init(off + PCI_MSI_ADDRESS_LO, 4, 0, 0xFFFFFFFC);
  if (is64) cfg_.init(off + PCI_MSI_ADDRESS_HI, 4, 0, 0xFFFFFFFF);
  const uint8_t data = is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
  cfg_.init(off + data, 2, 0, 0xFFFF);
  if (maskable) cfg_.init(off + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, 0, (1u << (1u << vectors_log2)) - 1);
  return off;
}

uint8_t ConfigBuilder::add_msix(unsigned table_size, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
                                uint32_t pba_offset) {
  const uint8_t off = add_cap(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
  cfg_.init(off + PCI_MSIX_FLAGS, 2, (table_size - 1) & PCI_MSIX_FLAGS_QSIZE,
            PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  cfg_.init(off + PCI_MSIX_TABLE, 4, (table_offset & ~7u) | table_bar);
  cfg_.init(off + PCI_MSIX_PBA, 4, (pba_offset & ~7u) | pba_bar);
  return off;
}

uint16_t ConfigBuilder::add_acs(uint16_t capability) {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_ACS, 1, 8);
  cfg_.init(off + PCI_ACS_CAP, 2, capability);
  cfg_.init(off + PCI_ACS_CTRL, 2, 0, capability & 0x7F);
  return off;
}

uint16_t ConfigBuilder::add_aer(bool root_port) {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_ERR, 2, root_port ? PCI_ERR_ROOT_ERR_SRC + 4 : PCI_ERR_ROOT_COMMAND);
  if (root_port) {  // Root Error Command (reporting enables), Root Error Status (RW1C), Error Source IDs
    cfg_.init(off + PCI_ERR_ROOT_COMMAND, 4, 0,
              PCI_ERR_ROOT_CMD_COR_EN | PCI_ERR_ROOT_CMD_NONFATAL_EN | PCI_ERR_ROOT_CMD_FATAL_EN);
    cfg_.init(off + PCI_ERR_ROOT_STATUS, 4, 0, 0, 0x7F);
    cfg_.init(off + PCI_ERR_ROOT_ERR_SRC, 4, 0);
  }
  cfg_.init(off + PCI_ERR_UNCOR_STATUS, 4, 0, 0, 0x03FFF030);
  cfg_.init(off + PCI_ERR_UNCOR_MASK, 4, 0, 0x03FFF030);
  cfg_.init(off + PCI_ERR_UNCOR_SEVER, 4, 0x00062030, 0x03FFF030);
  cfg_.init(off + PCI_ERR_COR_STATUS, 4, 0, 0, 0x0000F1C1);
  cfg_.init(off + PCI_ERR_COR_MASK, 4, 0x00002000, 0x0000F1C1);
  return off;
}

uint16_t ConfigBuilder::add_ats() {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_ATS, 1, PCI_EXT_CAP_ATS_SIZEOF);
  cfg_.init(off + PCI_ATS_CAP, 2, 0);  // invalidate queue depth 0 = 32
  cfg_.init(off + PCI_ATS_CTRL, 2, 0, PCI_ATS_CTRL_ENABLE | 0x1F);
  return off;
}

uint16_t ConfigBuilder::add_ari(uint8_t next_function) {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_ARI, 1, 8);
  cfg_.init(off + PCI_ARI_CAP, 2, static_cast<uint32_t>(next_function) << 8);
  cfg_.init(off + PCI_ARI_CTRL, 2, 0);
  return off;
}

// SR-IOV (A1.6): VF Enable, VF MSE and ARI Capable Hierarchy are writable; NumVFs and the
// system page size are writable; the VF BARs size like BARs.
uint16_t ConfigBuilder::add_sriov(const SriovSpec& s) {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_SRIOV, 1, PCI_EXT_CAP_SRIOV_SIZEOF);
  cfg_.init(off + PCI_SRIOV_CAP, 4, 0);
  cfg_.init(off + PCI_SRIOV_CTRL, 2, 0, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
  cfg_.init(off + PCI_SRIOV_STATUS, 2, 0);
  cfg_.init(off + PCI_SRIOV_INITIAL_VF, 2, s.total_vfs);
  cfg_.init(off + PCI_SRIOV_TOTAL_VF, 2, s.total_vfs);
  cfg_.init(off + PCI_SRIOV_NUM_VF, 2, 0, 0xFFFF);
  cfg_.init(off + PCI_SRIOV_FUNC_LINK, 1, 0);
  cfg_.init(off + PCI_SRIOV_VF_OFFSET, 2, s.first_vf_offset);
  cfg_.init(off + PCI_SRIOV_VF_STRIDE, 2, s.vf_stride);
  cfg_.init(off + PCI_SRIOV_VF_DID, 2, s.vf_device);
  cfg_.init(off + PCI_SRIOV_SUP_PGSIZE, 4, 0x553);  // 4K, 8K, 64K, 256K, 1M, 4M
  cfg_.init(off + PCI_SRIOV_SYS_PGSIZE, 4, 1, 0x553);
  for (int i = 0; i < PCI_SRIOV_NUM_BARS; ++i) bar_at(off + PCI_SRIOV_BAR + 4 * static_cast<uint32_t>(i), i, s.vf_bars[i]);
  return off;
}

uint16_t ConfigBuilder::add_pasid(unsigned max_width) {
  const uint16_t off = add_ext_cap(PCI_EXT_CAP_ID_PASID, 1, PCI_EXT_CAP_PASID_SIZEOF);
  cfg_.init(off + PCI_PASID_CAP, 2, (max_width & 0x1F) << 8 | PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
  cfg_.init(off + PCI_PASID_CTRL, 2, 0, PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV);
  return off;
}

}  // namespace vfiosim::pci
