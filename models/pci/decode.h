// Address decode as the hardware does it, read from config space: where a function's BARs sit
// and whether it claims an address (gated by the Command register's memory and I/O enables), the
// forwarding windows of a type 1 bridge, and capability-list walks bounded like Linux's (48 hops,
// so a looping list cannot hang the walker).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "models/pci/config_builder.h"
#include "models/pci/config_space.h"

namespace vfiosim::pci {

using BarSpecs = std::array<BarSpec, 6>;

/// The address BAR `index` is programmed to (flag bits stripped; both dwords for 64-bit BARs).
uint64_t bar_address(const ConfigSpace& cfg, int index, const BarSpec& spec);
/// The same for a BAR-like register at `reg` (SR-IOV VF BARs).
uint64_t bar_address_at(const ConfigSpace& cfg, uint32_t reg, const BarSpec& spec);

struct BarHit {
  int bar;
  uint64_t offset;
};
/// The BAR that claims [addr, addr+len), if any. Memory BARs decode only with Command.MEM set,
/// I/O BARs only with Command.IO set (C1.7: a BAR holding its sizing value claims nothing while
/// decode is off).
std::optional<BarHit> decode_bar(const ConfigSpace& cfg, const BarSpecs& bars, uint64_t addr, uint64_t len, bool io);
/// The expansion ROM at config register `reg` (`size` bytes) as BAR 6, if it claims
/// [addr, addr+len): only with Command.MEM and the ROM BAR's enable bit set.
std::optional<BarHit> decode_rom(const ConfigSpace& cfg, uint32_t reg, uint32_t size, uint64_t addr, uint64_t len);

struct Window {
  uint64_t base = 0;
  uint64_t limit = 0;  // inclusive
  bool contains(uint64_t addr) const { return base <= limit && addr >= base && addr <= limit; }
};
/// Non-prefetchable memory window (1 MiB granularity, below 4 GiB).
Window memory_window(const ConfigSpace& cfg);
/// Prefetchable memory window (64-bit when the base register says so).
Window prefetch_window(const ConfigSpace& cfg);
/// I/O window (4 KiB granularity).
Window io_window(const ConfigSpace& cfg);
/// True when a type 1 function forwards a memory request for `addr` from its primary side to its
/// secondary side (C1.17).
bool bridge_forwards_memory(const ConfigSpace& cfg, uint64_t addr);
/// True when the bus number lies in [secondary, subordinate].
bool bridge_routes_bus(const ConfigSpace& cfg, uint8_t bus);

constexpr int kCapabilityTtl = 48;  // Linux PCI_FIND_CAP_TTL

struct CapabilityRef {
  uint16_t id;
  uint16_t offset;
};
/// The standard capability list in order; stops after kCapabilityTtl hops.
std::vector<CapabilityRef> capabilities(const ConfigSpace& cfg);
/// The extended capability list from 0x100 in order; bounded the same way.
std::vector<CapabilityRef> ext_capabilities(const ConfigSpace& cfg);
/// Offset of the first capability with this ID, 0 if none.
uint16_t find_capability(const ConfigSpace& cfg, uint8_t id);
uint16_t find_ext_capability(const ConfigSpace& cfg, uint16_t id);

}  // namespace vfiosim::pci
