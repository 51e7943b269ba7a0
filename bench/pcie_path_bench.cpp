// Simulator speed of the PCIe DMA path — DMA engine -> link -> root complex -> memory and the
// completions back — in simulated TLPs per host second, next to the SystemC floor (an AT 4-phase
// transaction loop) measured in the same binary. Goal (PCI issue): 64 B reads at >= 70% of the
// floor. Run: build/bench/bench_pcie_path
#include <linux/pci_regs.h>

#include <cstdlib>
#include <memory>

#include <tlm_utils/simple_initiator_socket.h>

#include <benchmark/benchmark.h>
#include <systemc>

#include "models/memory/memory.h"
#include "models/pci/dma_engine.h"
#include "models/pci/root_complex.h"
#include "sim/base/tlm_util.h"
#include "systemc_floor.h"

using namespace vfiosim;
using namespace vfiosim::pci;

namespace {

struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<RootComplex> rc;
  PciBridge* rp = nullptr;
  DmaEngine* engine = nullptr;
};
Machine* g = nullptr;

// Programs the engine through config space and BAR0 registers like a driver, using a CPU-side
// initiator; one job per go event.
struct Driver : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Driver> socket{"socket"};
  sc_core::sc_event go;
  bool write = false;
  uint64_t count = 0;
  SC_HAS_PROCESS(Driver);
  explicit Driver(const sc_core::sc_module_name& n) : sc_module(n) { SC_THREAD(loop); }
  void access(tlm::tlm_command cmd, uint64_t addr, uint64_t& v, unsigned len) {
    tlm::tlm_generic_payload t;
    setup_payload(t, cmd, addr, reinterpret_cast<uint8_t*>(&v), len);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(t, d);
    sc_core::wait(d);
  }
  void wr(uint64_t a, unsigned len, uint64_t v) { access(tlm::TLM_WRITE_COMMAND, a, v, len); }
  uint64_t rd(uint64_t a, unsigned len) {
    uint64_t v = 0;
    access(tlm::TLM_READ_COMMAND, a, v, len);
    return v;
  }
  uint64_t ecam(uint8_t bus, uint8_t devfn, int reg) { return g->rc->params().ecam_base + (bus << 20) + (devfn << 12) + reg; }
  void loop() {
    const uint64_t bar = 0xC0000000;
    wr(ecam(0, 8, PCI_SECONDARY_BUS), 1, 1);
    wr(ecam(0, 8, PCI_SUBORDINATE_BUS), 1, 1);
    wr(ecam(0, 8, PCI_MEMORY_BASE), 2, 0xC000);
    wr(ecam(0, 8, PCI_MEMORY_LIMIT), 2, 0xC000);
    wr(ecam(0, 8, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    wr(ecam(1, 0, PCI_BASE_ADDRESS_0), 4, bar);
    wr(ecam(1, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    for (;;) {
      sc_core::wait(go);
      using namespace dmae;
      wr(bar + ADDR, 8, 0x100000000ULL);
      wr(bar + WINDOW, 8, 64ULL << 20);
      wr(bar + SIZE, 4, 64);
      wr(bar + COUNT, 8, count);
      wr(bar + OUTSTANDING, 4, 64);
      wr(bar + CONTROL, 4, (write ? CTRL_WRITE : 0u) | CTRL_RANDOM);
      wr(bar + DOORBELL, 4, 1);
      while (!(rd(bar + STATUS, 4) & STATUS_DONE)) sc_core::wait(sc_core::sc_time(20, sc_core::SC_US));
      wr(bar + STATUS, 4, STATUS_DONE);
    }
  }
};
Driver* g_driver = nullptr;

}  // namespace

void bench::elaborate_all() {
  if (g) return;
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  g = new Machine;
  MemoryParams mp;
  mp.size = 1ULL << 36;
  g->memory = std::make_unique<Memory>("memory", mp, g->root);
  g->rc = std::make_unique<RootComplex>("rc", RootComplexParams{}, g->root, nullptr);
  g->rc->memory.bind(g->memory->port);
  auto port = std::make_unique<PciBridge>("rp0", 8, PortType::RootPort);
  ConfigBuilder b(port->config());
  b.type1(0x8086, 0x1234, false);
  PcieCapSpec cap;
  cap.type = PortType::RootPort;
  port->set_pcie_cap(b.add_pcie(cap));
  port->finish_config();
  g->rp = &g->rc->add(g->rc->root_bus(), std::move(port));
  g->rc->connect(g->rp->secondary(), LinkParams{});
  g->engine = &g->rc->add(g->rp->secondary(),
                          std::make_unique<DmaEngine>("dmae", 0, DmaEngineParams{}, *g->rc, g->root, 1, nullptr));
  g_driver = new Driver("driver");
  g_driver->socket.bind(g->rc->host);
  bench::elaborate_floor();
}

namespace {

// Items are TLPs: a 64 B read is one MRd up and one CplD down; a 64 B write is one MWr.
void BM_PcieDma64B(benchmark::State& state) {
  bench::elaborate_all();
  g_driver->write = state.range(0) != 0;
  g_driver->count = 10000;
  for (auto _ : state) {
    g_driver->go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
  }
  const int64_t tlps_per_job = static_cast<int64_t>(g_driver->count) * (g_driver->write ? 1 : 2);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * tlps_per_job);
}
BENCHMARK(BM_PcieDma64B)->ArgName("write")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
