// Peer-to-peer DMA below a switch and ACS (A2.4): with Request Redirect the write goes up to the
// root complex and back down (C4.10), without it the switch turns it around and the root complex
// never sees it; Source Validation blocks a requester ID from outside the port's buses (C4.11).
#include <linux/pci_regs.h>

#include <gtest/gtest.h>

#include "models/memory/memory.h"
#include "sim/app/pci_platform.h"
#include "sim/app/steps/dma_engine_driver.h"
#include "sim/config/spec.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

json topology(bool acs) {
  json b = {{"bdf", "04:00.0"}, {"model", "dma-engine"}, {"bars", {"16KiB", "1MiB"}}};
  return {{"root_ports",
           {{{"bdf", "00:01.0"},
             {"children",
              {{{"bdf", "01:00.0"},
                {"model", "switch"},
                {"downstream_ports",
                 {{{"bdf", "02:00.0"}, {"acs", acs}, {"children", {{{"bdf", "03:00.0"}, {"model", "dma-engine"}}}}},
                  {{"bdf", "02:01.0"}, {"acs", acs}, {"children", {b}}}}}}}}}}}};
}

struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<PciPlatform> pci;
  explicit Machine(bool acs) {
    MemoryParams mp;
    mp.size = 1ULL << 34;
    memory = std::make_unique<Memory>("memory", mp, root);
    pci = std::make_unique<PciPlatform>(PciConfig::from(config::resolve_document(PciConfig::spec(), topology(acs))),
                                        root, 1, nullptr);
    pci->rc().memory.bind(memory->port);
  }
  uint64_t counter(const char* path) const {
    return dynamic_cast<const stats::Counter*>(root.lookup(path))->value();
  }
};

struct P2pRun {
  EngineRun run;
  uint64_t mismatches = 0;
};

P2pRun write_to_peer(Machine& m) {
  P2pRun out;
  sctest::run_in_thread([&] {
    m.pci->boot();
    const uint64_t peer_bar1 = m.pci->kernel().find("0000:04:00.0")->res[1].start;
    Workload w;
    w.direction = DmaDirection::Write;
    w.size = 256;
    w.count = 64;
    w.outstanding = 8;
    w.address = peer_bar1;
    w.window = 64 * 256;
    w.data_seed = 9;
    out.run = run_engine_job(*m.pci, "0000:03:00.0", w);
    std::vector<uint8_t> got(w.window);
    m.pci->engine("04:00.0")->bar_memory(1)->read(0, got.data(), got.size());
    out.mismatches = count_mismatches(peer_bar1, 9, got.data(), got.size());
  });
  return out;
}

}  // namespace

TEST(PeerToPeer, C4_10_RequestRedirectSendsPeerWritesThroughTheRootComplex) {
  Machine m(true);
  const P2pRun r = write_to_peer(m);
  EXPECT_EQ(r.run.summary.errors, 0u);
  EXPECT_EQ(r.mismatches, 0u);                      // the data landed in the peer's BAR
  EXPECT_EQ(m.counter("rc.p2p_via_root"), 64u);     // every write went up to the root complex
  EXPECT_EQ(m.counter("rc.p2p_direct"), 0u);
  EXPECT_EQ(m.counter("memory.bytes_written"), 0u);  // and none of it to host memory
}

TEST(PeerToPeer, WithoutAcsTheSwitchTurnsPeerWritesAround) {
  Machine m(false);
  const P2pRun r = write_to_peer(m);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_EQ(m.counter("rc.p2p_direct"), 64u);  // the root complex (and an IOMMU) never saw them
  EXPECT_EQ(m.counter("rc.p2p_via_root"), 0u);
}

TEST(PeerToPeer, RedirectedPathIsSlowerThanTheDirectOne) {
  Machine with(true), without(false);
  const double redirected = write_to_peer(with).run.summary.lat_p50_ps;
  const double direct = write_to_peer(without).run.summary.lat_p50_ps;
  EXPECT_GT(redirected, direct + 100000.0);  // at least one root complex traversal (100 ns) more
}

namespace {
// A function that DMAs with a requester ID from bus 7 (not below its port): spoofed.
struct Spoofer : pci::PciFunction {
  Spoofer() : PciFunction("spoofer", 1) {}
  uint16_t dma_rid() const override { return 0x0700; }
};
}  // namespace

TEST(PeerToPeer, C4_11_SourceValidationBlocksForeignRequesterIds) {
  Machine m(true);
  bool ok = true;
  sctest::run_in_thread([&] {
    m.pci->boot();
    // Put the spoofer next to 03:00.0 below DSP 02:00.0 (bus 3).
    auto& bus = const_cast<pci::PciBus&>(*m.pci->engine("03:00.0")->bus());
    auto& spoofer = m.pci->rc().add(bus, std::make_unique<Spoofer>());
    spoofer.config().set(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    uint8_t data[64] = {};
    ok = m.pci->rc().dma(spoofer, true, 0x100000000ULL, data, 64, sc_core::sc_time_stamp().value()).ok;
  });
  EXPECT_FALSE(ok);
  EXPECT_EQ(m.counter("rc.acs_violations"), 1u);
  EXPECT_EQ(m.counter("memory.bytes_written"), 0u);
}
