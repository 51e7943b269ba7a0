// Lays out a function's configuration space: type 0 / type 1 headers with their masks, BARs and
// the expansion ROM, and the standard and extended capabilities a model declares (PM, PCIe, MSI,
// MSI-X, ACS, AER, ATS, PASID, ARI, SR-IOV). Offsets and bits come from <linux/pci_regs.h>.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "models/pci/config_space.h"

namespace vfiosim::pci {

struct BarSpec {
  enum class Kind { None, Mem32, Mem64, Io };
  Kind kind = Kind::None;
  uint64_t size = 0;  // power of two: >= 16 for memory, >= 4 for I/O
  bool prefetchable = false;

  /// The low flag bits of the BAR dword (I/O bit, type, prefetchable).
  uint32_t flags() const;
};

/// PCI Express device/port type (PCIe Capabilities register bits 7:4).
enum class PortType : uint8_t {
  Endpoint = 0,
  LegacyEndpoint = 1,
  RootPort = 4,
  UpstreamPort = 5,
  DownstreamPort = 6,
  PcieToPciBridge = 7,
  RootComplexEndpoint = 9,
};

struct PcieCapSpec {
  PortType type = PortType::Endpoint;
  uint32_t mps_supported = 512;  // bytes
  bool flr = true;               // Device Cap bit 28
  unsigned link_gen = 3;         // 0: no link (RC integrated endpoint)
  unsigned link_width = 8;
  bool rcb_128 = false;          // Link Control RCB
};

/// An SR-IOV capability: the VFs' routing IDs are PF + first_vf_offset + n * vf_stride, and
/// each VF BAR is one VF's share of the PF's VF BAR region.
struct SriovSpec {
  uint16_t total_vfs = 0;  // 0: no SR-IOV capability
  uint16_t first_vf_offset = 1;
  uint16_t vf_stride = 1;
  uint16_t vf_device = 0;
  std::array<BarSpec, 6> vf_bars{};
};

class ConfigBuilder {
 public:
  explicit ConfigBuilder(ConfigSpace& cfg) : cfg_(cfg) {}

  void type0(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision, bool multifunction,
             uint8_t interrupt_pin);
  void type1(uint16_t vendor, uint16_t device, bool multifunction);

  /// BAR `index` (0-5 in type 0, 0-1 in type 1); a 64-bit BAR also takes index + 1.
  void bar(int index, const BarSpec& spec);
  /// A BAR-like register pair at `reg` (SR-IOV VF BARs); `index` only for the 64-bit rule.
  void bar_at(uint32_t reg, int index, const BarSpec& spec);
  /// Expansion ROM BAR (0x30 in type 0, 0x38 in type 1) of `size` bytes (power of two >= 2 KiB).
  void rom(uint32_t size, bool type1 = false);

  /// Appends a standard capability of `len` bytes; returns its offset.
  uint8_t add_cap(uint8_t id, uint8_t len);
  /// Appends an extended capability of `len` bytes at 0x100 and up; returns its offset.
  uint16_t add_ext_cap(uint16_t id, uint8_t version, uint16_t len);

  uint8_t add_pm();
  /// A VPD capability: address (with the F flag) and data registers, both writable.
  uint8_t add_vpd();
  uint8_t add_pcie(const PcieCapSpec& spec);
  uint8_t add_msi(unsigned vectors_log2, bool is64, bool maskable);
  uint8_t add_msix(unsigned table_size, unsigned table_bar, uint32_t table_offset, unsigned pba_bar, uint32_t pba_offset);
  /// ACS with the given capability bits; control bits are writable where the capability is set.
  uint16_t add_acs(uint16_t capability);
  /// Advanced Error Reporting; a root port's has the root error command/status/source registers.
  uint16_t add_aer(bool root_port = false);
  uint16_t add_ats();
  uint16_t add_pasid(unsigned max_width);
  /// Alternative Routing-ID Interpretation, with the next function number of the chain.
  uint16_t add_ari(uint8_t next_function);
  uint16_t add_sriov(const SriovSpec& spec);

 private:
  ConfigSpace& cfg_;
  uint8_t next_std_ = 0x40;
  uint8_t last_std_ = 0;  // offset of the last standard capability (0: none yet)
  uint16_t next_ext_ = 0x100;
  uint16_t last_ext_ = 0;
};

}  // namespace vfiosim::pci
