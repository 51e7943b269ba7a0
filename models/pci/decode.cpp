#include "models/pci/decode.h"

#include <linux/pci_regs.h>

namespace vfiosim::pci {

uint64_t bar_address(const ConfigSpace& cfg, int index, const BarSpec& spec) {
  return bar_address_at(cfg, PCI_BASE_ADDRESS_0 + 4 * static_cast<uint32_t>(index), spec);
}

uint64_t bar_address_at(const ConfigSpace& cfg, uint32_t reg, const BarSpec& spec) {
  const uint32_t lo = cfg.get(reg, 4);
  switch (spec.kind) {
    case BarSpec::Kind::Io: return lo & PCI_BASE_ADDRESS_IO_MASK;
    case BarSpec::Kind::Mem32: return lo & PCI_BASE_ADDRESS_MEM_MASK;
    case BarSpec::Kind::Mem64: return (static_cast<uint64_t>(cfg.get(reg + 4, 4)) << 32) | (lo & PCI_BASE_ADDRESS_MEM_MASK);
    case BarSpec::Kind::None: return 0;
  }
  return 0;
}

std::optional<BarHit> decode_bar(const ConfigSpace& cfg, const BarSpecs& bars, uint64_t addr, uint64_t len, bool io) {
  const uint16_t cmd = static_cast<uint16_t>(cfg.get(PCI_COMMAND, 2));
  if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY))) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    const BarSpec& b = bars[i];
    if (b.kind == BarSpec::Kind::None || (b.kind == BarSpec::Kind::Io) != io) continue;
    const uint64_t base = bar_address(cfg, i, b);
    if (addr >= base && len <= b.size && addr - base <= b.size - len) return BarHit{i, addr - base};
  }
  return std::nullopt;
}

std::optional<BarHit> decode_rom(const ConfigSpace& cfg, uint32_t reg, uint32_t size, uint64_t addr, uint64_t len) {
  if (!(cfg.get(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY)) return std::nullopt;
  const uint32_t bar = cfg.get(reg, 4);
  if (!(bar & PCI_ROM_ADDRESS_ENABLE)) return std::nullopt;
  const uint64_t base = bar & PCI_ROM_ADDRESS_MASK;
  if (addr >= base && len <= size && addr - base <= size - len) return BarHit{6, addr - base};
  return std::nullopt;
}

Window memory_window(const ConfigSpace& cfg) {
  const uint64_t base = (cfg.get(PCI_MEMORY_BASE, 2) & PCI_MEMORY_RANGE_MASK) << 16;
  const uint64_t limit = ((cfg.get(PCI_MEMORY_LIMIT, 2) & PCI_MEMORY_RANGE_MASK) << 16) | 0xFFFFF;
  return {base, limit};
}

Window prefetch_window(const ConfigSpace& cfg) {
  const uint32_t b = cfg.get(PCI_PREF_MEMORY_BASE, 2), l = cfg.get(PCI_PREF_MEMORY_LIMIT, 2);
  uint64_t base = static_cast<uint64_t>(b & PCI_PREF_RANGE_MASK) << 16;
  uint64_t limit = (static_cast<uint64_t>(l & PCI_PREF_RANGE_MASK) << 16) | 0xFFFFF;
  if ((b & PCI_PREF_RANGE_TYPE_MASK) == PCI_PREF_RANGE_TYPE_64) {
    base |= static_cast<uint64_t>(cfg.get(PCI_PREF_BASE_UPPER32, 4)) << 32;
    limit |= static_cast<uint64_t>(cfg.get(PCI_PREF_LIMIT_UPPER32, 4)) << 32;
  }
  return {base, limit};
}

Window io_window(const ConfigSpace& cfg) {
  uint64_t base = static_cast<uint64_t>(cfg.get(PCI_IO_BASE, 1) & PCI_IO_RANGE_MASK) << 8;
  uint64_t limit = (static_cast<uint64_t>(cfg.get(PCI_IO_LIMIT, 1) & PCI_IO_RANGE_MASK) << 8) | 0xFFF;
  if ((cfg.get(PCI_IO_BASE, 1) & PCI_IO_RANGE_TYPE_MASK) == PCI_IO_RANGE_TYPE_32) {
    base |= static_cast<uint64_t>(cfg.get(PCI_IO_BASE_UPPER16, 2)) << 16;
    limit |= static_cast<uint64_t>(cfg.get(PCI_IO_LIMIT_UPPER16, 2)) << 16;
  }
  return {base, limit};
}

bool bridge_forwards_memory(const ConfigSpace& cfg, uint64_t addr) {
  if (!(cfg.get(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY)) return false;
  return memory_window(cfg).contains(addr) || prefetch_window(cfg).contains(addr);
}

bool bridge_routes_bus(const ConfigSpace& cfg, uint8_t bus) {
  const uint8_t sec = static_cast<uint8_t>(cfg.get(PCI_SECONDARY_BUS, 1));
  const uint8_t sub = static_cast<uint8_t>(cfg.get(PCI_SUBORDINATE_BUS, 1));
  return sec != 0 && bus >= sec && bus <= sub;
}

std::vector<CapabilityRef> capabilities(const ConfigSpace& cfg) {
  std::vector<CapabilityRef> out;
  if (!(cfg.get(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return out;
  uint32_t pos = cfg.get(PCI_CAPABILITY_LIST, 1);
  for (int ttl = kCapabilityTtl; ttl > 0 && pos >= 0x40; --ttl) {
    pos &= ~3u;
    const uint32_t id = cfg.get(pos, 1);
    if (id == 0xFF) break;
    out.push_back({static_cast<uint16_t>(id), static_cast<uint16_t>(pos)});
    pos = cfg.get(pos + 1, 1);
  }
  return out;
}

std::vector<CapabilityRef> ext_capabilities(const ConfigSpace& cfg) {
  std::vector<CapabilityRef> out;
  if (cfg.size() <= 0x100) return out;
  uint32_t pos = 0x100;
  // Linux bounds this walk by (4096 - 256) / 8 headers.
  for (int ttl = (kConfigSizeExpress - kConfigSizeLegacy) / 8; ttl > 0 && pos >= 0x100 && pos < cfg.size(); --ttl) {
    const uint32_t header = cfg.get(pos, 4);
    if (header == 0 || header == 0xFFFFFFFF) break;
    out.push_back({static_cast<uint16_t>(PCI_EXT_CAP_ID(header)), static_cast<uint16_t>(pos)});
    pos = PCI_EXT_CAP_NEXT(header);
    if (pos == 0) break;
  }
  return out;
}

uint16_t find_capability(const ConfigSpace& cfg, uint8_t id) {
  for (const auto& c : capabilities(cfg))
    if (c.id == id) return c.offset;
  return 0;
}

uint16_t find_ext_capability(const ConfigSpace& cfg, uint16_t id) {
  for (const auto& c : ext_capabilities(cfg))
    if (c.id == id) return c.offset;
  return 0;
}

}  // namespace vfiosim::pci
