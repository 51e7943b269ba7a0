// A small PCIe machine for model tests: memory, a root complex, one root port (00:01.0) with a
// link to a DMA engine (01:00.0), and a CPU initiator on the host socket. `configure()` plays
// firmware: bus numbers, the bridge window, BAR0, Command and the MPS/MRRS fields.
#pragma once

#include <linux/pci_regs.h>

#include <cstring>
#include <memory>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "models/memory/memory.h"
#include "models/pci/dma_engine.h"
#include "models/pci/pcie_extension.h"
#include "models/pci/root_complex.h"
#include "sim/base/tlm_util.h"

namespace vfiosim::pci::testing {

struct Cpu : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Cpu> socket{"socket"};
  explicit Cpu(const sc_core::sc_module_name& n) : sc_module(n) {}

  // Blocking accesses from a SystemC thread; each waits for its own round trip.
  uint64_t read(uint64_t addr, unsigned len) {
    uint64_t v = 0;
    access(tlm::TLM_READ_COMMAND, addr, reinterpret_cast<uint8_t*>(&v), len);
    return v;
  }
  void write(uint64_t addr, unsigned len, uint64_t v) {
    access(tlm::TLM_WRITE_COMMAND, addr, reinterpret_cast<uint8_t*>(&v), len);
  }
  void access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len) {
    tlm::tlm_generic_payload t;
    setup_payload(t, cmd, addr, data, len);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(t, d);
    sc_core::wait(d);
  }
};

struct Msi {
  uint16_t rid;
  uint64_t address;
  uint32_t data;
  uint64_t arrival_ps;
};

struct PcieFixture {
  static constexpr uint64_t kBar0 = 0xC0000000;
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<RootComplex> rc;
  PciBridge* rp = nullptr;
  DmaEngine* engine = nullptr;
  Cpu cpu{"cpu"};
  std::vector<Msi> msis;
  sc_core::sc_event msi_event;

  explicit PcieFixture(LinkParams link = {}, DmaEngineParams ep = {}, RootComplexParams rcp = {},
                       MemoryParams mp = ideal_memory()) {
    memory = std::make_unique<Memory>("memory", mp, root);
    rc = std::make_unique<RootComplex>("rc", rcp, root, nullptr);
    rc->memory.bind(memory->port);
    cpu.socket.bind(rc->host);
    auto port = std::make_unique<PciBridge>("rp0", devfn_of(1, 0), PortType::RootPort);
    ConfigBuilder b(port->config());
    b.type1(0x8086, 0x1234, false);
    PcieCapSpec cap;
    cap.type = PortType::RootPort;
    cap.link_gen = link.gen;
    cap.link_width = link.width;
    port->set_pcie_cap(b.add_pcie(cap));
    port->finish_config();
    rp = &rc->add(rc->root_bus(), std::move(port));
    rc->connect(rp->secondary(), link);
    ep.pcie.link_gen = link.gen;
    ep.pcie.link_width = link.width;
    engine = &rc->add(rp->secondary(), std::make_unique<DmaEngine>("dmae", 0, ep, *rc, root, 1, nullptr));
    rc->on_msi([this](uint16_t rid, uint64_t a, uint32_t d, uint64_t t) {
      msis.push_back({rid, a, d, t});
      msi_event.notify(ClockDomain::to_time(t - ClockDomain::to_ps(sc_core::sc_time_stamp())));
    });
  }

  static MemoryParams ideal_memory() {
    MemoryParams p;
    p.size = 64ULL << 30;
    p.clock_mhz = 4000;
    p.latency_cycles = 1;
    p.bytes_per_cycle = 4096;
    return p;
  }

  uint64_t ecam(uint8_t bus, uint8_t devfn, uint32_t reg) const {
    return rc->params().ecam_base + (uint64_t{bus} << 20) + (uint64_t{devfn} << 12) + reg;
  }

  /// Firmware-style setup through config cycles (call from a thread).
  void configure(uint32_t mps = 256, uint32_t mrrs = 512) {
    cpu.write(ecam(0, rp->devfn(), PCI_SECONDARY_BUS), 1, 1);
    cpu.write(ecam(0, rp->devfn(), PCI_SUBORDINATE_BUS), 1, 1);
    cpu.write(ecam(0, rp->devfn(), PCI_MEMORY_BASE), 2, (kBar0 >> 16) & 0xFFF0);
    cpu.write(ecam(0, rp->devfn(), PCI_MEMORY_LIMIT), 2, (kBar0 >> 16) & 0xFFF0);
    cpu.write(ecam(0, rp->devfn(), PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    cpu.write(ecam(1, 0, PCI_BASE_ADDRESS_0), 4, kBar0);
    cpu.write(ecam(1, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const uint32_t cap = engine->pcie_cap();
    const uint32_t devctl = static_cast<uint32_t>(cpu.read(ecam(1, 0, cap + PCI_EXP_DEVCTL), 2));
    const uint32_t field = ((mps / 256) == 0 ? 0 : __builtin_ctz(mps / 128)) << 5 | __builtin_ctz(mrrs / 128) << 12;
    cpu.write(ecam(1, 0, cap + PCI_EXP_DEVCTL), 2, (devctl & ~0x70E0u) | field);
  }

  /// Programs and runs one job; waits for the MSI-X message if `irq`, else polls STATUS.
  void run_job(bool write, uint64_t addr, uint64_t window, uint32_t size, uint64_t count, uint32_t outstanding,
               uint32_t stride = 0, bool random = false, bool verify = false, uint32_t seed = 0) {
    using namespace dmae;
    cpu.write(kBar0 + ADDR, 8, addr);
    cpu.write(kBar0 + WINDOW, 8, window);
    cpu.write(kBar0 + SIZE, 4, size);
    cpu.write(kBar0 + COUNT, 8, count);
    cpu.write(kBar0 + OUTSTANDING, 4, outstanding);
    cpu.write(kBar0 + STRIDE, 4, stride);
    cpu.write(kBar0 + DATA_SEED, 4, seed);
    const uint32_t control = (write ? uint32_t{CTRL_WRITE} : 0u) | (random ? uint32_t{CTRL_RANDOM} : 0u) |
                             (verify ? uint32_t{CTRL_VERIFY} : 0u);
    cpu.write(kBar0 + CONTROL, 4, control);
    cpu.write(kBar0 + DOORBELL, 4, 1);
    while (!(cpu.read(kBar0 + STATUS, 4) & STATUS_DONE)) sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
  }

  uint64_t reg(uint32_t off) { return cpu.read(kBar0 + off, 8); }
};

}  // namespace vfiosim::pci::testing
