// Simulator speed of the IOMMU model: translations per host second on the IOTLB-hit path and on
// the miss path (a walk with timed table reads each time), and 64 B DMA reads from a PCIe DMA
// engine through the root complex with and without the IOMMU on the hit path (2 MiB pages), next
// to the SystemC floor. Goal (IOMMU issue): DMA through the IOMMU on the hit path costs at most
// 20% more host time than without it. Run: build/bench/bench_iommu
#include <linux/pci_regs.h>

#include <cstdlib>
#include <memory>

#include <tlm_utils/simple_initiator_socket.h>

#include <benchmark/benchmark.h>
#include <systemc>

#include "models/cpu/host_port.h"
#include "models/iommu/vtd_defs.h"
#include "models/iommu/vtd_iommu.h"
#include "models/memory/memory.h"
#include "models/pci/dma_engine.h"
#include "models/pci/pcie_extension.h"
#include "models/pci/root_complex.h"
#include "sim/base/tlm_util.h"
#include "systemc_floor.h"

using namespace vfiosim;
using namespace vfiosim::pci;

namespace {

constexpr uint64_t kTables = 0x10000000;   // translation structures (testbench-built)
constexpr uint64_t kBuffer = 0x40000000;   // the DMA buffer, 64 MiB
constexpr uint64_t kIova = 0x100000000ULL; // where the device sees it
constexpr uint64_t kWindow = 64ULL << 20;

// One root complex with a root port and a DMA engine, optionally behind an IOMMU.
struct Path {
  std::unique_ptr<RootComplex> rc;
  PciBridge* rp = nullptr;
};

struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<iommu::VtdIommu> unit;
  Path direct, translated;
};
Machine* g = nullptr;

void put64(uint64_t addr, uint64_t v) { g->memory->backdoor_write(addr, &v, 8); }

// Root table -> context table for bus 1 -> a 4-level table mapping kIova..+64 MiB to kBuffer, with
// 2 MiB leaves (domain 1, the hit path) and 4 KiB leaves (domain 2, the miss path, bus 2).
void build_tables() {
  using namespace vtd;
  uint64_t next = kTables;
  auto page = [&] { const uint64_t p = next; next += 4096; return p; };
  const uint64_t rt = page();
  auto table_for = [&](bool huge) {
    const uint64_t pml4 = page(), pdpt = page(), pd = page();
    put64(pml4 + level_index(kIova, 4) * 8, pdpt | SL_R | SL_W);
    put64(pdpt + level_index(kIova, 3) * 8, pd | SL_R | SL_W);
    for (uint64_t off = 0; off < kWindow; off += 2ULL << 20) {
      const uint64_t iova = kIova + off;
      if (huge) {
        put64(pd + level_index(iova, 2) * 8, (kBuffer + off) | SL_R | SL_W | SL_PS);
        continue;
      }
      const uint64_t pt = page();
      put64(pd + level_index(iova, 2) * 8, pt | SL_R | SL_W);
      for (uint64_t i = 0; i < 512; ++i) put64(pt + i * 8, (kBuffer + off + i * 4096) | SL_R | SL_W);
    }
    return pml4;
  };
  for (uint8_t bus = 1; bus <= 2; ++bus) {
    const uint64_t ct = page();
    put64(rt + bus * 16, ct | ROOT_P);
    const uint64_t pml4 = table_for(bus == 1);
    for (unsigned devfn = 0; devfn < 256; ++devfn) {
      put64(ct + devfn * 16, pml4 | CTX_P);
      put64(ct + devfn * 16 + 8, 2 | (static_cast<uint64_t>(bus) << 8));  // 4-level, DID = bus
    }
  }
  (void)rt;
}

// Issues translated requests straight into the IOMMU's upstream socket, 256 at a time.
struct Requester : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Requester> socket{"socket"};
  tlm_utils::simple_initiator_socket<Requester> regs{"regs"};
  sc_core::sc_event go;
  bool miss = false;
  uint64_t count = 0;
  uint64_t state = 1;
  SC_HAS_PROCESS(Requester);
  explicit Requester(const sc_core::sc_module_name& n) : sc_module(n) { SC_THREAD(loop); }
  void reg(uint32_t off, uint64_t v, unsigned len) {
    tlm::tlm_generic_payload t;
    setup_payload(t, tlm::TLM_WRITE_COMMAND, g->unit->params().base + off, reinterpret_cast<uint8_t*>(&v), len);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    regs->b_transport(t, d);
    sc_core::wait(d);
  }
  void loop() {
    reg(vtd::RTADDR_REG, kTables, 8);
    reg(vtd::GCMD_REG, vtd::GCMD_SRTP, 4);
    reg(vtd::GCMD_REG, vtd::GCMD_TE, 4);
    uint8_t buf[64];
    PcieExtension ext;
    tlm::tlm_generic_payload t;
    t.set_extension(&ext);
    for (;;) {
      sc_core::wait(go);
      ext.rid = miss ? make_rid(2, 0) : make_rid(1, 0);
      for (uint64_t i = 0; i < count;) {
        sc_core::sc_time latest = sc_core::SC_ZERO_TIME;
        for (int k = 0; k < 256 && i < count; ++k, ++i) {
          state = state * 6364136223846793005ULL + 1442695040888963407ULL;
          const uint64_t off = miss ? (state >> 20) % kWindow & ~63ULL : (state >> 20) % (64 * 1024) & ~63ULL;
          setup_payload(t, tlm::TLM_READ_COMMAND, kIova + off, buf, 64);
          sc_core::sc_time d = sc_core::SC_ZERO_TIME;
          socket->b_transport(t, d);
          if (d > latest) latest = d;
        }
        sc_core::wait(latest);
      }
    }
  }
};
Requester* g_req = nullptr;

// Programs one engine through config space and BAR0 like a driver (as bench_pcie_path).
struct Driver : sc_core::sc_module {
  HostPort cpu;  // the CPU's uncached config and MMIO accesses
  RootComplex* rc = nullptr;
  uint64_t addr = 0;
  sc_core::sc_event go;
  uint64_t count = 0;
  SC_HAS_PROCESS(Driver);
  explicit Driver(const sc_core::sc_module_name& n) : sc_module(n), cpu("cpu", g->root.child(basename())) {
    SC_THREAD(loop);
  }
  void wr(uint64_t a, unsigned len, uint64_t v) { cpu.write(a, len, v); }
  uint64_t rd(uint64_t a, unsigned len) { return cpu.read(a, len); }
  uint64_t ecam(uint8_t bus, uint8_t devfn, int reg) { return rc->params().ecam_base + (bus << 20) + (devfn << 12) + reg; }
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
      wr(bar + ADDR, 8, addr);
      wr(bar + WINDOW, 8, kWindow);
      wr(bar + SIZE, 4, 64);
      wr(bar + COUNT, 8, count);
      wr(bar + OUTSTANDING, 4, 64);
      wr(bar + CONTROL, 4, CTRL_RANDOM);
      wr(bar + DOORBELL, 4, 1);
      while (!(rd(bar + STATUS, 4) & STATUS_DONE)) sc_core::wait(sc_core::sc_time(20, sc_core::SC_US));
      wr(bar + STATUS, 4, STATUS_DONE);
    }
  }
};
Driver* g_direct = nullptr;
Driver* g_translated = nullptr;

void build_path(Path& p, const char* name) {
  p.rc = std::make_unique<RootComplex>(name, RootComplexParams{}, g->root, nullptr);
  auto port = std::make_unique<PciBridge>(std::string(name) + "_rp0", 8, PortType::RootPort);
  ConfigBuilder b(port->config());
  b.type1(0x8086, 0x1234, false);
  PcieCapSpec cap;
  cap.type = PortType::RootPort;
  port->set_pcie_cap(b.add_pcie(cap));
  port->finish_config();
  p.rp = &p.rc->add(p.rc->root_bus(), std::move(port));
  p.rc->connect(p.rp->secondary(), LinkParams{});
  p.rc->add(p.rp->secondary(), std::make_unique<DmaEngine>((std::string(name) + "_dmae").c_str(), 0, DmaEngineParams{},
                                                           *p.rc, g->root, 1, nullptr));
}

}  // namespace

void bench::elaborate_all() {
  if (g) return;
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  g = new Machine;
  MemoryParams mp;
  mp.size = 1ULL << 36;
  g->memory = std::make_unique<Memory>("memory", mp, g->root);
  iommu::VtdParams vp;  // defaults: 64-entry IOTLB, 4 walkers
  g->unit = std::make_unique<iommu::VtdIommu>("iommu", vp, g->root, 1, nullptr, nullptr);
  g->unit->memory.bind(g->memory->port);
  build_path(g->direct, "rc_direct");
  build_path(g->translated, "rc_iommu");
  g->direct.rc->memory.bind(g->memory->port);
  g_req = new Requester("requester");
  // The translated root complex and the requester share the IOMMU's upstream socket through a
  // tiny pass-through (simple sockets bind once): the requester goes first, the RC second.
  struct Fan : sc_core::sc_module {
    tlm_utils::simple_target_socket_tagged<Fan> in0{"in0"}, in1{"in1"};
    tlm_utils::simple_initiator_socket<Fan> out{"out"};
    explicit Fan(const sc_core::sc_module_name& n) : sc_module(n) {
      in0.register_b_transport(this, &Fan::bt, 0);
      in1.register_b_transport(this, &Fan::bt, 1);
    }
    void bt(int, tlm::tlm_generic_payload& t, sc_core::sc_time& d) { out->b_transport(t, d); }
  };
  auto* fan = new Fan("fan");
  fan->out.bind(g->unit->upstream);
  g_req->socket.bind(fan->in0);
  g->translated.rc->memory.bind(fan->in1);
  g_req->regs.bind(g->unit->regs);
  build_tables();
  g_direct = new Driver("driver_direct");
  g_direct->rc = g->direct.rc.get();
  g_direct->addr = kBuffer;
  g_direct->cpu.socket.bind(g->direct.rc->host);
  g_translated = new Driver("driver_iommu");
  g_translated->rc = g->translated.rc.get();
  g_translated->addr = kIova;  // bus 1: the 2 MiB-page domain, every request hits after warm-up
  g_translated->cpu.socket.bind(g->translated.rc->host);
  bench::elaborate_floor();
}

namespace {

void BM_Translate64B(benchmark::State& state) {
  bench::elaborate_all();
  g_req->miss = state.range(0) != 0;
  g_req->count = g_req->miss ? 20000 : 100000;
  for (auto _ : state) {
    g_req->go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_req->count));
}
BENCHMARK(BM_Translate64B)->ArgName("miss")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Items are TLPs (an MRd up and a CplD down per 64 B read), as in bench_pcie_path.
void BM_PcieDmaRead64B(benchmark::State& state) {
  bench::elaborate_all();
  Driver* d = state.range(0) ? g_translated : g_direct;
  d->count = 10000;
  for (auto _ : state) {
    d->go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d->count * 2));
}
BENCHMARK(BM_PcieDmaRead64B)->ArgName("iommu")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
