// Config space behaviour of device models: masks, BAR sizing, Command-gated decode, RW1C status,
// capability chains, bridge windows. Spec cases C1.1, C1.2, C1.4, C1.5, C1.7, C1.8, C1.10, C1.11,
// C1.17 and the BAR table of A1.3.
#include <linux/pci_regs.h>

#include <gtest/gtest.h>

#include "models/pci/config_builder.h"
#include "models/pci/decode.h"

using namespace vfiosim::pci;

namespace {
BarSpec mem32(uint64_t size, bool pf = false) { return {BarSpec::Kind::Mem32, size, pf}; }
BarSpec mem64(uint64_t size, bool pf = true) { return {BarSpec::Kind::Mem64, size, pf}; }
BarSpec io(uint64_t size) { return {BarSpec::Kind::Io, size, false}; }

ConfigSpace endpoint() {
  ConfigSpace cfg;
  ConfigBuilder(cfg).type0(0x1b36, 0x0010, 0x020000, 1, false, 1);
  return cfg;
}

uint32_t size_probe(ConfigSpace& cfg, uint32_t reg, uint32_t ones = 0xFFFFFFFF) {
  cfg.write(reg, 4, ones);
  return cfg.read(reg, 4);
}
}  // namespace

TEST(ConfigSpace, C1_1_Mem32BarSizingAndRestore) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder(cfg).bar(0, mem32(64 * 1024));
  cfg.write(PCI_BASE_ADDRESS_0, 4, 0xFE000000);
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_0), 0xFFFF0000u);
  cfg.write(PCI_BASE_ADDRESS_0, 4, 0xFE000000);
  EXPECT_EQ(cfg.read(PCI_BASE_ADDRESS_0, 4), 0xFE000000u);
}

TEST(ConfigSpace, C1_2_Mem64PrefetchableBarOf256MiB) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder(cfg).bar(2, mem64(256ULL << 20));
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_2), 0xF000000Cu);
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_3), 0xFFFFFFFFu);
  // What Linux computes from the two read-backs: the lowest set address bit is the size.
  const uint64_t mask = (uint64_t{0xFFFFFFFF} << 32) | (0xF000000Cu & PCI_BASE_ADDRESS_MEM_MASK);
  EXPECT_EQ(mask & ~(mask - 1), 0x10000000u);
}

TEST(ConfigSpace, BarTableOfA1_3) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder b(cfg);
  b.bar(0, mem32(1 << 20, true));
  b.bar(2, mem64(8ULL << 30));
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_0), 0xFFF00008u);
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_2), 0x0000000Cu);
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_3), 0xFFFFFFFEu);
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_5), 0u);  // unimplemented
}

TEST(ConfigSpace, C1_4_IoBarOf32Bytes) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder(cfg).bar(4, io(32));
  EXPECT_EQ(size_probe(cfg, PCI_BASE_ADDRESS_4), 0xFFFFFFE1u);
}

TEST(ConfigSpace, C1_5_RomBarSizingKeepsEnableClear) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder(cfg).rom(128 * 1024);
  EXPECT_EQ(size_probe(cfg, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_MASK), 0xFFFE0000u);
  cfg.write(PCI_ROM_ADDRESS, 4, 0xFFFE0001);
  EXPECT_EQ(cfg.read(PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_ENABLE, 1u);  // the enable bit is RW
}

TEST(ConfigSpace, C1_7_DecodeIsGatedByCommandMemoryEnable) {
  ConfigSpace cfg = endpoint();
  BarSpecs bars{};
  bars[0] = mem32(64 * 1024);
  ConfigBuilder(cfg).bar(0, bars[0]);
  cfg.write(PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF);  // sizing in progress: BAR holds 0xFFFF0000
  EXPECT_FALSE(decode_bar(cfg, bars, 0xFFFF0010, 4, false).has_value());
  cfg.write(PCI_BASE_ADDRESS_0, 4, 0xFE000000);
  EXPECT_FALSE(decode_bar(cfg, bars, 0xFE000010, 4, false).has_value());  // MEM still off
  cfg.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  const auto hit = decode_bar(cfg, bars, 0xFE000010, 4, false);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->bar, 0);
  EXPECT_EQ(hit->offset, 0x10u);
  EXPECT_FALSE(decode_bar(cfg, bars, 0xFE00FFFE, 4, false).has_value());  // runs off the end
  EXPECT_FALSE(decode_bar(cfg, bars, 0xFE000010, 4, true).has_value());   // not an I/O BAR
}

TEST(ConfigSpace, C1_8_StatusErrorBitsAreWriteOneToClear) {
  ConfigSpace cfg = endpoint();
  cfg.set(PCI_STATUS, 2, 0xA010);  // the device recorded master abort + parity; cap list
  cfg.write(PCI_STATUS, 2, 0x2000);
  EXPECT_EQ(cfg.read(PCI_STATUS, 2), 0x8010u);
  cfg.write(PCI_STATUS, 2, 0x0010);  // RO cap-list bit: writing 1 changes nothing
  EXPECT_EQ(cfg.read(PCI_STATUS, 2), 0x8010u);
}

TEST(ConfigSpace, CommandWritesOnlyReachTheWritableBits) {
  ConfigSpace cfg = endpoint();
  cfg.write(PCI_COMMAND, 2, 0xFFFF);
  EXPECT_EQ(cfg.read(PCI_COMMAND, 2), uint32_t{PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                               PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE});
  cfg.write(PCI_VENDOR_ID, 2, 0x1234);
  EXPECT_EQ(cfg.read(PCI_VENDOR_ID, 2), 0x1b36u);
}

TEST(ConfigSpace, MisalignedAndOutOfRangeAccesses) {
  ConfigSpace cfg = endpoint();
  EXPECT_EQ(cfg.read(0x01, 2), 0xFFFFu);
  EXPECT_EQ(cfg.read(0x1000, 4), 0xFFFFFFFFu);
  EXPECT_EQ(cfg.read(0x02, 4), 0xFFFFFFFFu);
  cfg.write(0x05, 2, 0xFFFF);  // misaligned: dropped
  EXPECT_EQ(cfg.read(PCI_COMMAND, 2), 0u);
}

TEST(ConfigSpace, C1_10_CapabilityChainInOrder) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder b(cfg);
  EXPECT_EQ(b.add_pm(), 0x40);
  const uint8_t msi = b.add_msi(3, true, false);
  const uint8_t exp = b.add_pcie({});
  const uint8_t msix = b.add_msix(64, 0, 0x2000, 0, 0x3000);
  const auto caps = capabilities(cfg);
  ASSERT_EQ(caps.size(), 4u);
  EXPECT_EQ(caps[0].id, PCI_CAP_ID_PM);
  EXPECT_EQ(caps[1].id, PCI_CAP_ID_MSI);
  EXPECT_EQ(caps[1].offset, msi);
  EXPECT_EQ(caps[2].id, PCI_CAP_ID_EXP);
  EXPECT_EQ(caps[2].offset, exp);
  EXPECT_EQ(caps[3].id, PCI_CAP_ID_MSIX);
  EXPECT_EQ(caps[3].offset, msix);
  EXPECT_NE(cfg.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0u);
  EXPECT_EQ(cfg.read(msix + 1, 1), 0u);  // the last next pointer ends the list
}

TEST(ConfigSpace, C1_11_LoopingCapabilityChainTerminates) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder b(cfg);
  b.add_pm();
  const uint8_t msi = b.add_msi(0, false, false);
  cfg.set(msi + 1, 1, 0x40);  // MSI.next points back at PM
  const auto caps = capabilities(cfg);
  EXPECT_EQ(caps.size(), static_cast<size_t>(kCapabilityTtl));
  EXPECT_EQ(find_capability(cfg, PCI_CAP_ID_EXP), 0u);
}

TEST(ConfigSpace, ExtendedCapabilitiesAndAcsControlMask) {
  ConfigSpace cfg = endpoint();
  ConfigBuilder b(cfg);
  const uint16_t acs = b.add_acs(PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
  const uint16_t aer = b.add_aer();
  const uint16_t ats = b.add_ats();
  const uint16_t pasid = b.add_pasid(20);
  const auto ext = ext_capabilities(cfg);
  ASSERT_EQ(ext.size(), 4u);
  EXPECT_EQ(ext[0].offset, 0x100u);
  EXPECT_EQ(find_ext_capability(cfg, PCI_EXT_CAP_ID_ACS), acs);
  EXPECT_EQ(find_ext_capability(cfg, PCI_EXT_CAP_ID_ERR), aer);
  EXPECT_EQ(find_ext_capability(cfg, PCI_EXT_CAP_ID_ATS), ats);
  EXPECT_EQ(find_ext_capability(cfg, PCI_EXT_CAP_ID_PASID), pasid);
  cfg.write(acs + PCI_ACS_CTRL, 2, 0x7F);  // only the advertised controls stick
  EXPECT_EQ(cfg.read(acs + PCI_ACS_CTRL, 2), uint32_t{PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF});
  EXPECT_EQ((cfg.read(pasid + PCI_PASID_CAP, 2) >> 8) & 0x1F, 20u);
}

TEST(ConfigSpace, MsiMultipleMessageEnableIsWritableAndCapableIsNot) {
  ConfigSpace cfg = endpoint();
  const uint8_t msi = ConfigBuilder(cfg).add_msi(3, true, true);
  cfg.write(msi + PCI_MSI_FLAGS, 2, 0xFFFF);
  const uint32_t flags = cfg.read(msi + PCI_MSI_FLAGS, 2);
  EXPECT_EQ(flags & PCI_MSI_FLAGS_QMASK, 3u << 1);  // MMC stays 3 (8 vectors)
  EXPECT_EQ(flags & PCI_MSI_FLAGS_QSIZE, 7u << 4);
  EXPECT_NE(flags & PCI_MSI_FLAGS_64BIT, 0u);
  cfg.write(msi + PCI_MSI_ADDRESS_LO, 4, 0xFEE00003);
  EXPECT_EQ(cfg.read(msi + PCI_MSI_ADDRESS_LO, 4), 0xFEE00000u);  // dword aligned
}

TEST(ConfigSpace, C1_17_BridgeForwardsOnlyInsideItsMemoryWindow) {
  ConfigSpace cfg;
  ConfigBuilder(cfg).type1(0x8086, 0x1234, false);
  cfg.write(PCI_MEMORY_BASE, 2, 0xE000);
  cfg.write(PCI_MEMORY_LIMIT, 2, 0xE01F);
  cfg.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  EXPECT_TRUE(bridge_forwards_memory(cfg, 0xE01FFFFC));
  EXPECT_FALSE(bridge_forwards_memory(cfg, 0xE0200000));
  EXPECT_FALSE(bridge_forwards_memory(cfg, 0xDFFFFFFF));
  cfg.write(PCI_COMMAND, 2, 0);
  EXPECT_FALSE(bridge_forwards_memory(cfg, 0xE0000000));  // memory enable gates forwarding
}

TEST(ConfigSpace, BridgeBusRangeAnd64BitPrefetchWindow) {
  ConfigSpace cfg;
  ConfigBuilder(cfg).type1(0x8086, 0x1234, false);
  cfg.write(PCI_SECONDARY_BUS, 1, 2);
  cfg.write(PCI_SUBORDINATE_BUS, 1, 5);
  EXPECT_FALSE(bridge_routes_bus(cfg, 1));
  EXPECT_TRUE(bridge_routes_bus(cfg, 2));
  EXPECT_TRUE(bridge_routes_bus(cfg, 5));
  EXPECT_FALSE(bridge_routes_bus(cfg, 6));
  cfg.write(PCI_PREF_MEMORY_BASE, 2, 0x0001);  // RO type nibble stays 64-bit
  cfg.write(PCI_PREF_BASE_UPPER32, 4, 0x4);
  cfg.write(PCI_PREF_MEMORY_LIMIT, 2, 0x0FF1);
  cfg.write(PCI_PREF_LIMIT_UPPER32, 4, 0x4);
  const Window w = prefetch_window(cfg);
  EXPECT_EQ(w.base, 0x400000000ULL);
  EXPECT_EQ(w.limit, 0x40FFFFFFFULL);
  // Software disables a window by programming base above limit; then it contains nothing.
  cfg.write(PCI_MEMORY_BASE, 2, 0xFFF0);
  cfg.write(PCI_MEMORY_LIMIT, 2, 0x0000);
  EXPECT_FALSE(memory_window(cfg).contains(0));
  EXPECT_FALSE(memory_window(cfg).contains(0xFFF00000));
}
