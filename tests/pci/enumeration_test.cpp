// The kernel's PCI core on a modelled hierarchy: depth-first bus numbering with a switch (A2.1),
// only device 0 scanned below ports, BAR sizing and assignment inside bridge windows, the
// per-hierarchy MPS rule, enable/bus-master. Runs the real config cycles through the root complex.
#include <linux/pci_regs.h>

#include <gtest/gtest.h>

#include "tests/pci/platform_machine.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using nlohmann::json;

namespace {
json topology() {
  return {
      {"mps", 512},
      {"root_ports",
       {{{"bdf", "00:01.0"},
         {"children",
          {{{"bdf", "01:00.0"},
            {"model", "switch"},
            {"downstream_ports",
             {{{"bdf", "02:00.0"}, {"children", {{{"bdf", "03:00.0"}, {"model", "dma-engine"}, {"mps_supported", 256}}}}},
              {{"bdf", "02:01.0"}, {"children", {{{"bdf", "04:00.0"}, {"model", "dma-engine"}, {"bars", {"64KiB", "1MiB"}}}}}}}}}}}},
        {{"bdf", "00:02.0"}, {"children", {{{"bdf", "05:00.0"}, {"model", "dma-engine"}}}}}}}};
}

struct Machine : pcitest::PlatformMachine {
  Machine() : PlatformMachine(topology()) {}
};
}  // namespace

TEST(Enumeration, BusNumbersAreDepthFirstAsInA2_1) {
  Machine m;
  sctest::run_in_thread([&] { m.boot(); });
  auto& k = m.pci->core();
  auto bus_regs = [&](const char* name) {
    const auto* d = k.find(name);
    EXPECT_NE(d, nullptr) << name;
    const auto& cfg = m.pci->rc().find_function(d->bus->number, static_cast<uint8_t>(d->devfn))->config();
    return std::make_tuple(cfg.get(PCI_PRIMARY_BUS, 1), cfg.get(PCI_SECONDARY_BUS, 1), cfg.get(PCI_SUBORDINATE_BUS, 1));
  };
  EXPECT_EQ(bus_regs("0000:00:01.0"), std::make_tuple(0u, 1u, 4u));
  EXPECT_EQ(bus_regs("0000:01:00.0"), std::make_tuple(1u, 2u, 4u));
  EXPECT_EQ(bus_regs("0000:02:00.0"), std::make_tuple(2u, 3u, 3u));
  EXPECT_EQ(bus_regs("0000:02:01.0"), std::make_tuple(2u, 4u, 4u));
  EXPECT_EQ(bus_regs("0000:00:02.0"), std::make_tuple(0u, 5u, 5u));
  EXPECT_EQ(k.devices().size(), 8u);  // 2 RPs, USP, 2 DSPs, 3 engines
  for (const char* ep : {"0000:03:00.0", "0000:04:00.0", "0000:05:00.0"}) {
    ASSERT_NE(k.find(ep), nullptr) << ep;
    EXPECT_EQ(k.find(ep)->vendor, pci::dmae::kVendorId);
  }
}

TEST(Enumeration, BarsAreSizedAndPlacedInsideTheBridgeWindows) {
  Machine m;
  sctest::run_in_thread([&] { m.boot(); });
  auto& k = m.pci->core();
  const auto* ep = k.find("0000:04:00.0");
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(ep->res[0].size(), 64u * 1024);
  EXPECT_EQ(ep->res[1].size(), 1u << 20);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ep->res[i].start % ep->res[i].size(), 0u);  // naturally aligned
    EXPECT_GE(ep->res[i].start, m.pci->rc().params().mmio32_base);
    // Every bridge above forwards the BAR's range.
    for (const char* br : {"0000:02:01.0", "0000:01:00.0", "0000:00:01.0"}) {
      const auto* b = k.find(br);
      const auto& cfg = m.pci->rc().find_function(b->bus->number, static_cast<uint8_t>(b->devfn))->config();
      EXPECT_TRUE(pci::bridge_forwards_memory(cfg, ep->res[i].start)) << br;
      EXPECT_TRUE(pci::bridge_forwards_memory(cfg, ep->res[i].end)) << br;
    }
  }
  // The sibling's BAR is not forwarded by 02:01.0.
  const auto* other = k.find("0000:03:00.0");
  const auto* dsp1 = k.find("0000:02:01.0");
  const auto& dsp1_cfg = m.pci->rc().find_function(2, static_cast<uint8_t>(dsp1->devfn))->config();
  EXPECT_FALSE(pci::bridge_forwards_memory(dsp1_cfg, other->res[0].start));
  // The programmed BAR register holds what the kernel recorded.
  const auto& ep_cfg = m.pci->rc().find_function(4, 0)->config();
  EXPECT_EQ(ep_cfg.get(PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK, ep->res[0].start);
}

TEST(Enumeration, EachHierarchyRunsAtItsSmallestSupportedPayload) {
  Machine m;
  sctest::run_in_thread([&] { m.boot(); });
  auto mps_of = [&](uint8_t bus, uint8_t devfn) {
    const auto* fn = m.pci->rc().find_function(bus, devfn);
    return 128u << ((fn->config().get(fn->pcie_cap() + PCI_EXP_DEVCTL, 2) >> 5) & 7);
  };
  EXPECT_EQ(mps_of(3, 0), 256u);  // 03:00.0 supports only 256: its whole hierarchy follows
  EXPECT_EQ(mps_of(4, 0), 256u);
  EXPECT_EQ(mps_of(0, 0x08), 256u);
  EXPECT_EQ(mps_of(5, 0), 512u);  // the other root port keeps the requested 512
}

TEST(Enumeration, DriversBindAtBootAndUnbindDisablesTheDevice) {
  Machine m;
  uint32_t bound = 0, unbound = 0, enabled = 0;
  std::string driver;
  sctest::run_in_thread([&] {
    m.boot();
    auto& k = m.pci->core();
    auto* ep = k.find("0000:05:00.0");
    driver = m.pci->drivers().driver_of(*ep)->name;
    bound = k.read_config(*ep, PCI_COMMAND, 2);
    auto* drv = m.pci->drivers().find_driver(driver);
    EXPECT_EQ(m.pci->drivers().unbind(*drv, *ep), 0);
    unbound = k.read_config(*ep, PCI_COMMAND, 2);
    k.enable_device(*ep);
    k.set_master(*ep);
    enabled = k.read_config(*ep, PCI_COMMAND, 2);
  });
  EXPECT_EQ(driver, "vfiosim-dmae");
  const uint32_t mem_master = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
  EXPECT_EQ(bound & mem_master, mem_master);   // the driver's probe enabled it
  EXPECT_EQ(unbound & mem_master, 0u);         // its remove disabled it
  EXPECT_EQ(enabled & mem_master, mem_master);  // pci_enable_device + pci_set_master
  EXPECT_EQ(m.pci->drivers().driver_of(*m.pci->core().find("0000:00:01.0"))->name, "pcieport");
}
