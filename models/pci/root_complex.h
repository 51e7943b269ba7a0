// The root complex: the host bridge that owns PCI segment 0, its root bus and everything below
// it, and routes all traffic of the hierarchy.
//
// What it models:
// - Host accesses (CPU -> `host` socket): ECAM config requests routed by bus number (Type 1
//   forwarding by [secondary, subordinate], Type 0 on the target bus, device 0 only below a
//   link), and MMIO routed by bridge windows and decoded by BARs with Command gating. Unclaimed
//   requests complete as Unsupported Request: reads return all ones.
// - Device DMA: requests split into TLPs by the requester's MPS/MRRS and 4 KiB boundaries, sent
//   up every link and through every switch on the way, then into memory through `memory` (the
//   IOMMU's translation port when there is one) with the requester ID in a PcieExtension; read
//   data returns in completions split at the completer's MPS and RCB, down the same path.
//   Memory writes to the MSI window (0xFEE00000-0xFEEFFFFF) are interrupts, handed to the MSI
//   handler at their arrival time. A function without Bus Master Enable emits nothing.
// - Timing is arithmetic: every link direction is a Serialiser, the root complex and each switch
//   add a fixed latency; no kernel event is scheduled here.
// - ACS at root and downstream ports for requests from below (A2.4): Source Validation blocks a
//   requester ID outside the port's buses and Translation Blocking a translated request — an ACS
//   violation, logged in the port's AER (status, first error pointer, header log), reported to the
//   root port as ERR_NONFATAL when enabled, answered with Completer Abort for reads, and listed in
//   the report's events; a request for the port's own window turns around in the port unless
//   Upstream Forwarding sends it up; one for a sibling downstream port's window goes there inside
//   the switch unless Request Redirect sends it up to the root complex (Direct Translated lets
//   translated requests through); peer completions route by ID and turn around in the switch
//   unless Completion Redirect at the completer's port sends them up; the root complex routes
//   requests that hit a device BAR down to that device.
// What it does not model (yet): egress control, ATS translation requests, completion timeouts,
// poisoned TLPs, the root port's error interrupt.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/pci/function.h"
#include "models/pci/msi_window.h"
#include "models/pci/pcie_extension.h"
#include "models/pci/pcie_link.h"
#include "sim/base/clock.h"
#include "sim/base/event_log.h"
#include "sim/stats/group.h"

namespace vfiosim::pci {

struct RootComplexParams {
  uint64_t clock_mhz = 1000;
  uint64_t latency_cycles = 100;        // each traversal of the root complex
  uint64_t switch_latency_ps = 100000;  // cut-through latency of one switch (PEX 8747: 100 ns)
  uint32_t rcb = 64;                    // read completion boundary of the root complex
  uint64_t ecam_base = 0xB0000000;      // 256 MiB: buses 0-255
  uint64_t mmio32_base = 0xC0000000;    // non-prefetchable window below 4 GiB
  uint64_t mmio32_size = 0x3EC00000;    // up to 0xFEC00000 (below IOAPIC/MSI)
  uint64_t mmio64_base = 0x8000000000;  // prefetchable 64-bit window at 512 GiB
  uint64_t mmio64_size = 0x4000000000;  // 256 GiB
};

constexpr uint64_t kEcamSize = 256ULL << 20;

class RootComplex : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<RootComplex> host;        // CPU: ECAM and MMIO
  /// Device memory requests go up through `memory`: to the IOMMU unit (DMA remapping hardware
  /// unit) of the root-bus device they came through, or to memory without an IOMMU.
  tlm_utils::multi_passthrough_initiator_socket<RootComplex> memory;
  /// Device requests the IOMMU translated to an address in a PCI window come back here and go
  /// down to the peer BAR (peer-to-peer through the root complex, after translation).
  tlm_utils::simple_target_socket_optional<RootComplex> translated;

  RootComplex(const sc_core::sc_module_name& name, const RootComplexParams& params, stats::Group& parent,
              TraceWriter* trace);
  ~RootComplex() override;

  const RootComplexParams& params() const { return params_; }

  /// Requests that come up through the root-bus device `root_devfn` (a root port, or an integrated
  /// endpoint itself) leave through the `index`-th binding of `memory`: the remapping unit whose
  /// scope holds that device. Every other request takes `set_default_memory()` (binding 0).
  void route_memory(uint8_t root_devfn, unsigned index) { memory_route_[root_devfn] = index; }
  void set_default_memory(unsigned index) { default_memory_ = index; }
  stats::Group& stats() { return stats_; }

  // Building the tree (elaboration).
  PciBus& root_bus() { return root_bus_; }
  /// Takes ownership of a function and puts it on `bus`.
  template <typename T>
  T& add(PciBus& bus, std::unique_ptr<T> fn) {
    T& ref = *fn;
    bus.add(fn.get());
    owned_.push_back(std::move(fn));
    return ref;
  }
  /// Puts a link between the port that owns `bus` and the device below it.
  PcieLink& connect(PciBus& bus, const LinkParams& params);
  const std::vector<std::unique_ptr<PcieLink>>& links() const { return links_; }
  std::vector<PciFunction*> all_functions() const;

  /// A memory read (write = false) or write by `src` of `len` bytes at `addr`, ready at
  /// `ready_ps`. Returns when the data has arrived (reads) or been accepted by memory (writes).
  struct DmaResult {
    uint64_t done_ps;
    bool ok;
  };
  /// `trace_id`: the request's slice in trace.json, carried to the IOMMU in the PcieExtension.
  /// `at`: the request's Address Type (translated requests come from a device with an ATC).
  DmaResult dma(PciFunction& src, bool write, uint64_t addr, uint8_t* data, uint32_t len, uint64_t ready_ps,
                uint64_t trace_id = 0, AddressType at = AddressType::Untranslated);

  /// ACS violations are also listed in the report's events.
  void set_event_log(EventLog* events) { events_ = events; }

  /// Called for every MSI write: requester, address, data, arrival time in ps.
  using MsiHandler = std::function<void(uint16_t rid, uint64_t address, uint32_t data, uint64_t arrival_ps)>;
  void on_msi(MsiHandler handler) { msi_ = std::move(handler); }

  /// An Assert_INTx / Deassert_INTx message from `src` (its Interrupt Pin), ready at `ready_ps`:
  /// up the links like any message, swizzled at every bridge, then to the platform's line for
  /// (root bus device, pin) — the handler gets the line number and the arrival time.
  void intx(PciFunction& src, bool assert, uint64_t ready_ps);
  using IntxHandler = std::function<void(unsigned gsi, bool assert, uint64_t arrival_ps)>;
  void on_intx(IntxHandler handler) { intx_ = std::move(handler); }

  /// The function that answers config requests for (bus, devfn), or nullptr.
  PciFunction* find_function(uint8_t bus, uint8_t devfn) const;

  void finalize(uint64_t end_ps);

 private:
  void host_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void config_access(tlm::tlm_generic_payload& trans, uint64_t offset, uint64_t& t);
  void mmio_access(tlm::tlm_generic_payload& trans, uint64_t& t);
  void translated_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

  uint64_t up_to_root(const PciBus* bus, uint64_t t, TlpType type, uint64_t addr, uint32_t payload);
  uint64_t down_from_root(const PciBus* bus, uint64_t t, TlpType type, uint64_t addr, uint32_t payload);
  /// From `bus` up to (not past) `top`; nullptr is the root.
  uint64_t up_to(const PciBus* bus, const PciBus* top, uint64_t t, TlpType type, uint64_t addr, uint32_t payload);
  /// From below `top` down to `bus`.
  uint64_t down_from(const PciBus* top, const PciBus* bus, uint64_t t, TlpType type, uint64_t addr, uint32_t payload);
  uint64_t through_rc(uint64_t t) const;

  struct MmioTarget {
    PciFunction* fn;
    BarHit hit;
  };
  std::optional<MmioTarget> route_mmio(uint64_t addr, uint64_t len) const;
  std::optional<MmioTarget> route_mmio_below(const PciBus* start, uint64_t addr, uint64_t len) const;

  struct Route {
    enum Kind { Root, Peer, Blocked } kind;
    uint64_t t;
    MmioTarget peer;
    const PciBus* top;  // where a peer request turned around
  };
  Route route_up(const PciFunction& src, uint64_t t, TlpType type, uint64_t addr, uint32_t payload, uint16_t rid,
                 AddressType at);
  uint64_t peer_access(PciFunction& src, const MmioTarget& target, const PciBus* top, uint64_t t, bool write,
                       const Chunk& c, uint8_t* data, bool& ok);
  struct CplRoute {
    const PciBus* top;  // where the completion turned around (nullptr: the root complex)
    uint64_t t;
  };
  CplRoute route_completion(const PciFunction& completer, uint8_t dest_bus, uint64_t t, TlpType type, uint64_t addr,
                            uint32_t payload);
  static uint16_t acs_control(const PciBridge& port);
  /// The root port's AER interrupt: an MSI from its MSI capability when Root Error Command enables
  /// the kind of message its Root Error Status now shows.
  void root_error_interrupt(PciBridge& root, uint64_t t);
  /// The root port above `fn` (nullptr for an integrated endpoint).
  static PciBridge* root_port_of(PciFunction& fn);
  void acs_violation(PciBridge& port, TlpType type, uint64_t addr, uint32_t payload, uint16_t rid, uint64_t t);

  unsigned memory_output(const PciFunction& src);

  RootComplexParams params_;
  std::map<uint8_t, unsigned> memory_route_;  // root-bus devfn -> binding of `memory`
  unsigned default_memory_ = 0;
  ClockDomain clock_;
  TraceWriter* trace_;
  EventLog* events_ = nullptr;
  PciBus root_bus_{nullptr};
  std::vector<std::unique_ptr<PciFunction>> owned_;
  std::vector<std::unique_ptr<PcieLink>> links_;
  MsiHandler msi_;
  IntxHandler intx_;
  tlm::tlm_generic_payload dma_trans_;
  PcieExtension dma_ext_;

  stats::Group& stats_;
  stats::Counter& dma_reads_;
  stats::Counter& dma_writes_;
  stats::Counter& dma_bytes_;
  stats::Counter& msi_writes_;
  stats::Counter& config_requests_;
  stats::Counter& mmio_requests_;
  stats::Counter& unsupported_;
  stats::Counter& blocked_no_bme_;
  stats::Counter& acs_violations_;
  stats::Counter& p2p_direct_;
  stats::Counter& p2p_via_rc_;
  stats::Counter& p2p_translated_;
  stats::Counter& aer_interrupts_;
  stats::Counter& unsupported_writes_;
};

}  // namespace vfiosim::pci
