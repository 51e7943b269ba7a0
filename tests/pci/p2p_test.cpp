// Peer-to-peer DMA below a switch and ACS (A2.4): with Request Redirect the write goes up to the
// root complex and back down (C4.10), without it the switch turns it around and the root complex
// never sees it; Source Validation blocks a requester ID from outside the port's buses and the
// port's AER logs the violation (C4.11); Completion Redirect and Upstream Forwarding as separate
// controls; Direct Translated and Translation Blocking for translated requests (C4.13).
#include <linux/pci_regs.h>

#include <functional>

#include <gtest/gtest.h>

#include "tests/pci/platform_machine.h"
#include "sim/app/steps/dma_engine_driver.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

// RP 00:01.0 -> switch (USP 01:00.0) -> DSP 02:00.0 -> A 03:00.0 (and, multi-function, 03:00.1
// with a 1 MiB BAR1), DSP 02:01.0 -> B 04:00.0 with a 1 MiB BAR1.
json topology(bool acs, bool multifunction = false) {
  json b = {{"bdf", "04:00.0"}, {"model", "dma-engine"}, {"bars", {"16KiB", "1MiB"}}};
  json a = json::array({{{"bdf", "03:00.0"}, {"model", "dma-engine"}}});
  if (multifunction) a.push_back({{"bdf", "03:00.1"}, {"model", "dma-engine"}, {"bars", {"16KiB", "1MiB"}}});
  return {{"root_ports",
           {{{"bdf", "00:01.0"},
             {"children",
              {{{"bdf", "01:00.0"},
                {"model", "switch"},
                {"downstream_ports",
                 {{{"bdf", "02:00.0"},
                   {"acs", acs},
                   {"acs_capabilities", {"SV", "TB", "RR", "CR", "UF", "DT"}},  // Linux leaves DT off
                   {"children", a}},
                  {{"bdf", "02:01.0"}, {"acs", acs}, {"children", {b}}}}}}}}}}}};
}

struct Machine : pcitest::PlatformMachine {
  explicit Machine(bool acs, bool multifunction = false)
      : PlatformMachine(topology(acs, multifunction), 1ULL << 34) {}
  kernel::pci_dev& dev(const char* bdf) const { return *pci->core().find(std::string("0000:") + bdf); }
  uint32_t cfg(const char* bdf, int where, int size) const { return pci->core().read_config(dev(bdf), where, size); }
  void set_cfg(const char* bdf, int where, int size, uint32_t v) { pci->core().write_config(dev(bdf), where, size, v); }
  /// ACS Control of a port, changed as firmware or a user with setpci would.
  void acs_ctrl(const char* bdf, uint16_t set, uint16_t clear) {
    const int off = dev(bdf).acs_cap + PCI_ACS_CTRL;
    set_cfg(bdf, off, 2, (cfg(bdf, off, 2) | set) & ~uint32_t{clear});
  }
  uint16_t aer(const char* bdf) const { return pci->core().find_ext_capability(dev(bdf).bus->number, dev(bdf).devfn, PCI_EXT_CAP_ID_ERR); }
  /// Turns the root port's MSI off, so the hardware's error logging stays for a test to read
  /// (the kernel's AER service would otherwise handle and clear it).
  void quiet_root_port(const char* bdf) {
    const uint8_t msi = pci->core().find_capability(dev(bdf).bus->number, dev(bdf).devfn, PCI_CAP_ID_MSI);
    set_cfg(bdf, msi + PCI_MSI_FLAGS, 2, cfg(bdf, msi + PCI_MSI_FLAGS, 2) & ~uint32_t{PCI_MSI_FLAGS_ENABLE});
  }
  uint64_t counter(const char* path) const {
    return dynamic_cast<const stats::Counter*>(root.lookup(path))->value();
  }
};

struct P2pRun {
  EngineRun run;
  uint64_t mismatches = 0;
};

// From a SystemC thread: `src` writes 64 x 256 B of pattern `seed` into `dst`'s BAR1; returns
// the bytes of the BAR that do not hold the pattern afterwards.
uint64_t write_bar1(Machine& m, const char* src, const char* dst, uint32_t seed, EngineRun* run = nullptr) {
  const uint64_t bar1 = m.dev(dst).res[1].start;
  Workload w;
  w.direction = DmaDirection::Write;
  w.size = 256;
  w.count = 64;
  w.outstanding = 8;
  w.address = bar1;
  w.window = 64 * 256;
  w.data_seed = seed;
  const EngineRun r = run_engine_job(*m.pci, std::string("0000:") + src, w);
  if (run) *run = r;
  std::vector<uint8_t> got(w.window);
  m.pci->engine(dst)->bar_memory(1)->read(0, got.data(), got.size());
  return count_mismatches(bar1, seed, got.data(), got.size());
}

P2pRun write_to_peer(Machine& m) {
  P2pRun out;
  sctest::run_in_thread([&] {
    m.boot();
    out.mismatches = write_bar1(m, "03:00.0", "04:00.0", 9, &out.run);
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
    m.boot();
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

namespace {
// Spoofed DMA from below DSP 02:00.0 after `setup`; returns the DMA's result.
pci::RootComplex::DmaResult spoofed(Machine& m, bool write, const std::function<void()>& setup,
                                    pci::PciFunction** out = nullptr, const std::function<void()>& check = {}) {
  pci::RootComplex::DmaResult r{0, true};
  sctest::run_in_thread([&] {
    m.boot();
    if (setup) setup();
    auto& bus = const_cast<pci::PciBus&>(*m.pci->engine("03:00.0")->bus());
    auto& spoofer = m.pci->rc().add(bus, std::make_unique<Spoofer>());
    spoofer.config().set(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    if (out) *out = &spoofer;
    uint8_t data[64] = {};
    r = m.pci->rc().dma(spoofer, write, 0x100000000ULL, data, 64, sc_core::sc_time_stamp().value());
    if (check) check();  // config reads wait: still inside the simulated thread
  });
  return r;
}
}  // namespace

TEST(PeerToPeer, C4_11_AcsViolationIsLoggedInThePortsAerAndReachesTheRootPort) {
  Machine m(true);
  // Boot bound pcieport to the root port, whose AER service enabled error reporting in Device
  // Control below it (6.1 aer_enable_rootport -> set_downstream_devices_error_reporting).
  spoofed(m, true, [&] { m.quiet_root_port("00:01.0"); }, nullptr, [&] {
    EXPECT_TRUE(m.cfg("02:00.0", m.dev("02:00.0").pcie_cap + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_NFERE);
    EXPECT_EQ(m.cfg("00:01.0", m.aer("00:01.0") + PCI_ERR_ROOT_COMMAND, 4), 7u);
    const uint16_t aer = m.aer("02:00.0");
    ASSERT_NE(aer, 0);
    EXPECT_TRUE(m.cfg("02:00.0", aer + PCI_ERR_UNCOR_STATUS, 4) & PCI_ERR_UNC_ACSV);
    EXPECT_EQ(PCI_ERR_CAP_FEP(m.cfg("02:00.0", aer + PCI_ERR_CAP, 4)), 21u);  // the ACS Violation bit
    // Header log: a 4-DW memory write of 16 DW from requester 07:00.0 to 0x1_0000_0000.
    EXPECT_EQ(m.cfg("02:00.0", aer + PCI_ERR_HEADER_LOG, 4), (3u << 29) | 16u);
    EXPECT_EQ(m.cfg("02:00.0", aer + PCI_ERR_HEADER_LOG + 4, 4) >> 16, 0x0700u);
    EXPECT_EQ(m.cfg("02:00.0", aer + PCI_ERR_HEADER_LOG + 8, 4), 1u);
    EXPECT_TRUE(m.cfg("02:00.0", m.dev("02:00.0").pcie_cap + PCI_EXP_DEVSTA, 2) & PCI_EXP_DEVSTA_NFED);
    // ERR_NONFATAL at the root port, with the detecting port as the source.
    const uint16_t rp = m.aer("00:01.0");
    const uint32_t st = m.cfg("00:01.0", rp + PCI_ERR_ROOT_STATUS, 4);
    EXPECT_EQ(st & (PCI_ERR_ROOT_UNCOR_RCV | PCI_ERR_ROOT_NONFATAL_RCV | PCI_ERR_ROOT_FATAL_RCV),
              uint32_t{PCI_ERR_ROOT_UNCOR_RCV | PCI_ERR_ROOT_NONFATAL_RCV});
    EXPECT_EQ(m.cfg("00:01.0", rp + PCI_ERR_ROOT_ERR_SRC, 4) >> 16, 0x0200u);
    // Both status registers are RW1C.
    m.set_cfg("02:00.0", aer + PCI_ERR_UNCOR_STATUS, 4, PCI_ERR_UNC_ACSV);
    EXPECT_FALSE(m.cfg("02:00.0", aer + PCI_ERR_UNCOR_STATUS, 4) & PCI_ERR_UNC_ACSV);
    m.set_cfg("00:01.0", rp + PCI_ERR_ROOT_STATUS, 4, st);
    EXPECT_EQ(m.cfg("00:01.0", rp + PCI_ERR_ROOT_STATUS, 4), 0u);
  });
}

TEST(PeerToPeer, TheRootPortsAerInterruptReachesTheKernelsAerService) {
  Machine m(true);
  uint32_t root_status = 1, dsp_status = 0;
  spoofed(m, true, {}, nullptr, [&] {
    sc_core::wait(sc_core::sc_time(100, sc_core::SC_US));  // the AER thread runs on the MSI
    root_status = m.cfg("00:01.0", m.aer("00:01.0") + PCI_ERR_ROOT_STATUS, 4);
    dsp_status = m.cfg("02:00.0", m.aer("02:00.0") + PCI_ERR_UNCOR_STATUS, 4);
  });
  EXPECT_EQ(m.counter("rc.aer_interrupts"), 1u);
  EXPECT_EQ(root_status, 0u);  // aer_irq() read and cleared it
  // Below 02:00.0 the DMA engine's harness driver has no error handlers: NO_AER_DRIVER, recovery
  // fails, and the detecting port's status is left as it was.
  EXPECT_TRUE(dsp_status & PCI_ERR_UNC_ACSV);
}

TEST(PeerToPeer, MaskedAcsViolationSetsOnlyTheStatusBit) {
  Machine m(true);
  auto mask = [&] {
    const uint16_t aer = m.aer("02:00.0");
    m.set_cfg("02:00.0", aer + PCI_ERR_UNCOR_MASK, 4, PCI_ERR_UNC_ACSV);
  };
  spoofed(m, true, mask, nullptr, [&] {
    const uint16_t aer = m.aer("02:00.0");
    EXPECT_TRUE(m.cfg("02:00.0", aer + PCI_ERR_UNCOR_STATUS, 4) & PCI_ERR_UNC_ACSV);
    EXPECT_EQ(m.cfg("02:00.0", aer + PCI_ERR_HEADER_LOG + 4, 4), 0u);  // no header logged
    EXPECT_EQ(m.cfg("00:01.0", m.aer("00:01.0") + PCI_ERR_ROOT_STATUS, 4), 0u);
    EXPECT_FALSE(m.cfg("02:00.0", m.dev("02:00.0").pcie_cap + PCI_EXP_DEVSTA, 2) & PCI_EXP_DEVSTA_NFED);
  });
}

TEST(PeerToPeer, C4_11_BlockedReadIsAnsweredWithCompleterAbort) {
  Machine m(true);
  pci::PciFunction* spoofer = nullptr;
  uint64_t start = 0;
  bool signalled = false;
  const auto r = spoofed(m, false, [&] { start = sc_core::sc_time_stamp().value(); }, &spoofer,
                         [&] { signalled = m.cfg("02:00.0", PCI_STATUS, 2) & PCI_STATUS_SIG_TARGET_ABORT; });
  EXPECT_FALSE(r.ok);
  EXPECT_GT(r.done_ps, start);  // the completion came back down the link
  EXPECT_TRUE(spoofer->config().get(PCI_STATUS, 2) & PCI_STATUS_REC_TARGET_ABORT);
  EXPECT_TRUE(signalled);
  EXPECT_EQ(m.counter("rc.acs_violations"), 1u);
}

TEST(PeerToPeer, WithoutCompletionRedirectPeerCompletionsTurnAroundInTheSwitch) {
  // Request Redirect sends the reads up to the root complex either way; Completion Redirect at
  // the completer's port decides whether the completions follow them or go straight across.
  Machine m(true);
  EngineRun cr, no_cr;
  sctest::run_in_thread([&] {
    m.boot();
    Workload w;
    w.direction = DmaDirection::Read;
    w.size = 256;
    w.count = 64;
    w.outstanding = 1;
    w.address = m.dev("04:00.0").res[1].start;
    w.window = 64 * 256;
    cr = run_engine_job(*m.pci, "0000:03:00.0", w);
    m.acs_ctrl("02:01.0", 0, PCI_ACS_CR);
    no_cr = run_engine_job(*m.pci, "0000:03:00.0", w);
  });
  EXPECT_EQ(cr.summary.errors, 0u);
  EXPECT_EQ(no_cr.summary.errors, 0u);
  EXPECT_EQ(m.counter("rc.p2p_via_root"), 128u);  // every read request went up
  // Two root complex traversals (2 x 100 ns) and link hops fewer for each completion.
  EXPECT_GT(cr.summary.lat_p50_ps, no_cr.summary.lat_p50_ps + 200000.0);
}

TEST(PeerToPeer, UpstreamForwardingSendsALoopBackUpToTheRootComplex) {
  Machine m(true, true);
  sctest::run_in_thread([&] {
    m.boot();
    // 03:00.0 writes into its sibling function's BAR1: a loop back at DSP 02:00.0.
    EXPECT_EQ(write_bar1(m, "03:00.0", "03:00.1", 4), 0u);
    EXPECT_EQ(m.counter("rc.p2p_via_root"), 64u);
    EXPECT_EQ(m.counter("rc.p2p_direct"), 0u);
    m.acs_ctrl("02:00.0", 0, PCI_ACS_UF);
    m.pci->engine("03:00.1")->bar_memory(1)->write(0, std::vector<uint8_t>(64 * 256, 0).data(), 64 * 256);
    EXPECT_EQ(write_bar1(m, "03:00.0", "03:00.1", 4), 0u);
    EXPECT_EQ(m.counter("rc.p2p_direct"), 64u);  // turned around in the port: no IOMMU on the way
    EXPECT_EQ(m.counter("rc.p2p_via_root"), 64u);
  });
}

namespace {
// One 64-byte peer write from 03:00.0 to 04:00.0's BAR1 with the given Address Type.
bool peer_write(Machine& m, pci::AddressType at) {
  uint8_t data[64] = {};
  pci::DmaEngine& a = *m.pci->engine("03:00.0");
  return m.pci->rc().dma(a, true, m.dev("04:00.0").res[1].start, data, 64, sc_core::sc_time_stamp().value(), 0, at).ok;
}
}  // namespace

TEST(PeerToPeer, C4_13_DirectTranslatedLetsTranslatedPeerWritesGoDirect) {
  Machine m(true);
  sctest::run_in_thread([&] {
    m.boot();
    m.acs_ctrl("02:00.0", PCI_ACS_DT, 0);  // RR (set by Linux) and DT
    m.set_cfg("03:00.0", PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    EXPECT_TRUE(peer_write(m, pci::AddressType::Translated));
    EXPECT_EQ(m.counter("rc.p2p_direct"), 1u);
    EXPECT_EQ(m.counter("rc.p2p_via_root"), 0u);
    EXPECT_TRUE(peer_write(m, pci::AddressType::Untranslated));  // still redirected
    EXPECT_EQ(m.counter("rc.p2p_via_root"), 1u);
    m.acs_ctrl("02:00.0", 0, PCI_ACS_DT);
    EXPECT_TRUE(peer_write(m, pci::AddressType::Translated));  // without DT, RR redirects it too
    EXPECT_EQ(m.counter("rc.p2p_via_root"), 2u);
  });
}

TEST(PeerToPeer, TranslationBlockingRejectsTranslatedRequests) {
  Machine m(true);
  sctest::run_in_thread([&] {
    m.boot();
    m.acs_ctrl("02:00.0", PCI_ACS_TB, 0);
    m.set_cfg("03:00.0", PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    EXPECT_FALSE(peer_write(m, pci::AddressType::Translated));
    EXPECT_EQ(m.counter("rc.acs_violations"), 1u);
    EXPECT_TRUE(peer_write(m, pci::AddressType::Untranslated));
  });
}
