// IOMMU group formation by the port of pci_device_group() (classic v6.1 algorithm) on modelled
// hierarchies, with ACS read from the devices' config space. Spec cases C3.1, C3.2, C3.4, C3.5,
// C3.7 (classic), C3.10 (classic), C3.11, and topologies T3 and T8 of pci-ccw.md A3.3.
#include <linux/pci_regs.h>

#include <set>

#include <gtest/gtest.h>

#include "tests/pci/platform_machine.h"
#include "vfio/linux/drivers/pci/pci_acs.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using nlohmann::json;
using pcitest::Groups;

namespace {

json ep(const std::string& bdf, bool acs = false) {
  return {{"bdf", bdf}, {"model", "dma-engine"}, {"acs", acs}};
}
json port(const std::string& bdf, bool acs, json children) {
  return {{"bdf", bdf}, {"acs", acs}, {"children", std::move(children)}};
}

struct Machine : pcitest::PlatformMachine {
  explicit Machine(const json& written, bool boot_now = true) : PlatformMachine(written) {
    if (boot_now) sctest::run_in_thread([&] { boot(); });
  }
};

}  // namespace

TEST(IommuGroups, C3_1_RootPortWithAcsIsolatesTheEndpoint) {
  Machine m(json{{"root_ports", {port("00:01.0", true, {ep("01:00.0")})}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}}));
}

TEST(IommuGroups, C3_2_RootPortWithoutAcsSharesItsGroup) {
  Machine m(json{{"root_ports", {port("00:01.0", false, {ep("01:00.0")})}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0", "01:00.0"}}));
}

TEST(IommuGroups, T3_MultiFunctionWithoutAcsIsOneGroup) {
  Machine m(json{{"root_ports", {port("00:01.0", true, {ep("01:00.0"), ep("01:00.1")})}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0", "01:00.1"}}));
}

TEST(IommuGroups, C3_4_MultiFunctionWithAcsIsolatesEachFunction) {
  Machine m(json{{"root_ports", {port("00:01.0", true, {ep("01:00.0", true), ep("01:00.1", true)})}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"01:00.1"}}));
}

namespace {
json switch_topology(bool dsp0_acs, bool dsp1_acs) {
  return {{"root_ports",
           {port("00:01.0", true,
                 {{{"bdf", "01:00.0"},
                   {"model", "switch"},
                   {"downstream_ports", {port("02:00.0", dsp0_acs, {ep("03:00.0")}),
                                         port("02:01.0", dsp1_acs, {ep("04:00.0")})}}}})}}};
}
}  // namespace

TEST(IommuGroups, C3_5_SwitchWithAcsOnBothDownstreamPortsGivesSixGroups) {
  Machine m(switch_topology(true, true));
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"02:00.0"}, {"02:01.0"}, {"03:00.0"}, {"04:00.0"}}));
}

TEST(IommuGroups, C3_7_ClassicGroupsWhenOneDownstreamPortLacksAcs) {
  // Classic behaviour (kept faithfully): A keeps its own group although DSP1's endpoint B can
  // reach it peer-to-peer without the IOMMU (the bug the 2025 rework fixes, spec A3.5).
  Machine m(switch_topology(true, false));
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"02:00.0"}, {"03:00.0"}, {"02:01.0", "04:00.0"}}));
}

TEST(IommuGroups, T6_BothDownstreamPortsWithoutAcs) {
  Machine m(switch_topology(false, false));
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"02:00.0", "03:00.0"}, {"02:01.0", "04:00.0"}}));
}

TEST(IommuGroups, T8_MultiFunctionRootPortsWithoutAcsShareOneGroup) {
  Machine m(json{{"root_ports", {port("00:1c.0", false, {ep("01:00.0")}), port("00:1c.4", false, {ep("02:00.0")})}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:1c.0", "00:1c.4", "01:00.0", "02:00.0"}}));
}

TEST(IommuGroups, C3_10_RcIntegratedFunctionsWithoutAcsShareAGroup) {
  Machine m(json{{"rc_endpoints", {ep("00:1f.0"), ep("00:1f.2"), ep("00:1f.3"), ep("00:1f.6", true)}}});
  EXPECT_EQ(m.groups(), (Groups{{"00:1f.0", "00:1f.2", "00:1f.3"}, {"00:1f.6"}}));
}

namespace {
json alias_topology() {
  json quirky = ep("05:00.0");
  quirky["func1_alias"] = true;
  // Buses 1-4 are used up by a switch first so the device lands on bus 5 as in the spec.
  json t = switch_topology(true, true);
  t["root_ports"].push_back(port("00:02.0", true, {quirky, ep("05:00.1", true)}));
  return t;
}
}  // namespace

TEST(IommuGroups, C3_11_DmaAliasJoinsTheAliasedFunction) {
  Machine m(alias_topology());
  const auto groups = m.groups();
  EXPECT_TRUE(groups.count({"05:00.0", "05:00.1"})) << "05:00.0 DMAs as 05:00.1 too";
  const auto* dev = m.pci->core().find("0000:05:00.0");
  ASSERT_NE(dev, nullptr);
  EXPECT_TRUE(dev->dma_alias_mask.test(0x01));
}

TEST(IommuGroups, C3_11_AliasGroupIsFoundWhicheverFunctionProbesFirst) {
  Machine m(alias_topology(), /*boot_now=*/false);
  sctest::run_in_thread([&] {
    // Enumerate without probing, then probe the alias target before the quirky function.
    kernel::BusSettings s;
    m.pci->core().scan(s);
    auto& k = m.pci->core();
    auto& g = m.pci->iommu_groups();
    g.probe(&k.find("0000:00:02.0")->dev);
    g.probe(&k.find("0000:05:00.1")->dev);
    g.probe(&k.find("0000:05:00.0")->dev);
  });
  const auto* a = m.pci->core().find("0000:05:00.0");
  const auto* b = m.pci->core().find("0000:05:00.1");
  ASSERT_NE(a->dev.iommu_group, nullptr);
  EXPECT_EQ(a->dev.iommu_group, b->dev.iommu_group);
}

TEST(IommuGroups, DmaFromTheQuirkyFunctionCarriesTheAliasRequesterId) {
  Machine m(alias_topology());
  EXPECT_EQ(m.pci->engine("05:00.0")->dma_rid(), 0x0501);
  EXPECT_EQ(m.pci->engine("05:00.1")->dma_rid(), 0x0501);
  EXPECT_EQ(m.pci->engine("03:00.0")->dma_rid(), 0x0300);
}

namespace {
json bridge_topology() {
  json bridge = {{"bdf", "01:00.0"},
                 {"model", "pcie-pci-bridge"},
                 {"devices", {{{"bdf", "02:01.0"}, {"model", "dma-engine"}}, {{"bdf", "02:02.0"}, {"model", "dma-engine"}}}}};
  return {{"root_ports", {port("00:01.0", true, {bridge})}}};
}
}  // namespace

TEST(IommuGroups, C3_8_EverythingBehindAPcieToPciBridgeSharesItsGroup) {
  Machine m(bridge_topology());
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0", "02:01.0", "02:02.0"}}));
  // Conventional functions are found in any slot of the bridge's bus (not only device 0).
  EXPECT_FALSE(m.pci->core().find("0000:02:01.0")->is_pcie());
}

TEST(IommuGroups, C3_13_DmaBehindTheBridgeCarriesTheBridgesSecondaryBusRid) {
  Machine m(bridge_topology());
  auto& dev = *m.pci->core().find("0000:02:02.0");
  std::vector<uint16_t> aliases;
  kernel::pci_for_each_dma_alias(dev, [&](kernel::pci_dev&, uint16_t rid) {
    aliases.push_back(rid);
    return 0;
  });
  EXPECT_EQ(aliases, (std::vector<uint16_t>{0x0210, 0x0200}));  // own RID, then (secondary bus 2, 00.0)
  // The model's root complex sees the bridge's RID on the DMA.
  uint16_t seen = 0;
  sctest::run_in_thread([&] {
    auto* engine = m.pci->engine("02:02.0");
    engine->config().set(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    m.pci->rc().on_msi([&](uint16_t rid, uint64_t, uint32_t, uint64_t) { seen = rid; });
    uint32_t data = 1;
    m.pci->rc().dma(*engine, true, pci::kMsiBase, reinterpret_cast<uint8_t*>(&data), 4,
                    sc_core::sc_time_stamp().value());
  });
  EXPECT_EQ(seen, 0x0200);
}

TEST(IommuGroups, DisableAcsRedirMergesWhatTheRedirectKeptApart) {
  // With RR/CR left off on DSP 02:01.0 its endpoint is no longer isolated: Linux puts it in the
  // port's group, as for a port without ACS (classic C3.7 shape).
  json t = switch_topology(true, true);
  t["disable_acs_redir"] = {"02:01.0"};
  Machine m(t);
  EXPECT_EQ(m.groups(), (Groups{{"00:01.0"}, {"01:00.0"}, {"02:00.0"}, {"03:00.0"}, {"02:01.0", "04:00.0"}}));
  const auto& cfg = m.pci->rc().find_function(2, 0x08)->config();
  const uint16_t acs = pci::find_ext_capability(cfg, PCI_EXT_CAP_ID_ACS);
  EXPECT_EQ(cfg.get(acs + PCI_ACS_CTRL, 2) & (PCI_ACS_RR | PCI_ACS_CR), 0u);
  EXPECT_NE(cfg.get(acs + PCI_ACS_CTRL, 2) & PCI_ACS_SV, 0u);  // source validation stays on
}
