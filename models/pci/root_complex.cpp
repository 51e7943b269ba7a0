#include "models/pci/root_complex.h"

#include <linux/pci_regs.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "models/pci/aer.h"
#include "models/pci/pcie_extension.h"

namespace vfiosim::pci {

namespace {
uint32_t payload_field(const PciFunction& fn, unsigned shift) {
  if (!fn.pcie_cap()) return 128;
  const uint32_t devctl = fn.device_control();
  return 128u << ((devctl >> shift) & 7);
}
uint32_t mps_of(const PciFunction& fn) { return payload_field(fn, 5); }
uint32_t mrrs_of(const PciFunction& fn) { return payload_field(fn, 12); }
unsigned intx_gsi(const PciBus* bus, uint8_t devfn, unsigned pin) {
  for (; bus && bus->bridge(); bus = bus->bridge()->bus()) {
    pin = swizzle_pin(static_cast<uint8_t>(devfn >> 3), pin);
    devfn = bus->bridge()->devfn();
  }
  return intx_line(static_cast<uint8_t>(devfn >> 3), pin);
}
bool ari_forwarding(const PciFunction& port) {
  return port.pcie_cap() && (port.config().get(port.pcie_cap() + PCI_EXP_DEVCTL2, 2) & PCI_EXP_DEVCTL2_ARI);
}
}  // namespace

RootComplex::RootComplex(const sc_core::sc_module_name& name, const RootComplexParams& params, stats::Group& parent,
                         TraceWriter* trace)
    : sc_module(name),
      host("host"),
      memory("memory"),
      translated("translated"),
      params_(params),
      clock_(std::string(this->name()) + ".clk", params.clock_mhz * 1000000ULL),
      trace_(trace),
      stats_(parent.child(basename())),
      dma_reads_(stats_.counter("dma_reads", "requests", "Device memory reads (before TLP splitting)")),
      dma_writes_(stats_.counter("dma_writes", "requests", "Device memory writes, MSI excluded")),
      dma_bytes_(stats_.counter("dma_bytes", "bytes", "Bytes moved by device DMA")),
      msi_writes_(stats_.counter("msi_writes", "messages", "MSI/MSI-X writes received")),
      config_requests_(stats_.counter("config_requests", "requests", "ECAM config requests from the host")),
      mmio_requests_(stats_.counter("mmio_requests", "requests", "Host MMIO requests to the hierarchy")),
      unsupported_(stats_.counter("unsupported_requests", "requests", "Host requests no function claimed (UR)")),
      blocked_no_bme_(stats_.counter("blocked_no_bus_master", "requests",
                                     "Device requests dropped because Bus Master Enable was clear")),
      acs_violations_(stats_.counter("acs_violations", "requests",
                                     "Requests blocked by ACS source validation (requester ID outside the port's buses)")),
      p2p_direct_(stats_.counter("p2p_direct", "TLPs", "Peer-to-peer requests turned around inside a switch")),

      p2p_via_rc_(stats_.counter("p2p_via_root", "TLPs", "Device requests the root complex routed to another device")),
      p2p_translated_(stats_.counter("p2p_translated", "TLPs",
                                     "Requests the IOMMU translated to a peer BAR, sent down from the root complex")),
      aer_interrupts_(stats_.counter("aer_interrupts", "messages", "MSIs root ports sent for error messages they received")),
      unsupported_writes_(stats_.counter("unsupported_writes", "requests",
                                         "Host memory writes a function completed as Unsupported Request (AER logged)")) {
  host.register_b_transport(this, &RootComplex::host_transport);
  translated.register_b_transport(this, &RootComplex::translated_transport);
}

RootComplex::~RootComplex() = default;

PcieLink& RootComplex::connect(PciBus& bus, const LinkParams& params) {
  const std::string link_name = "link_" + (bus.bridge() ? bus.bridge()->pci_name() : std::string("root"));
  links_.push_back(std::make_unique<PcieLink>(link_name, params, stats_, trace_));
  bus.set_link(links_.back().get());
  return *links_.back();
}

std::vector<PciFunction*> RootComplex::all_functions() const {
  std::vector<PciFunction*> out;
  for (const auto& f : owned_) out.push_back(f.get());
  return out;
}

uint64_t RootComplex::through_rc(uint64_t t) const {
  return clock_.ps_of(clock_.cycle_at_or_after(t) + params_.latency_cycles);
}

uint64_t RootComplex::up_to_root(const PciBus* bus, uint64_t t, TlpType type, uint64_t addr, uint32_t payload) {
  return up_to(bus, nullptr, t, type, addr, payload);
}

uint64_t RootComplex::down_from_root(const PciBus* bus, uint64_t t, TlpType type, uint64_t addr, uint32_t payload) {
  return down_from(nullptr, bus, t, type, addr, payload);  // recursion: no path is built
}

RootComplex::DmaResult RootComplex::dma(PciFunction& src, bool write, uint64_t addr, uint8_t* data, uint32_t len,
                                        uint64_t ready_ps, uint64_t trace_id, AddressType at) {
  if (!src.bus_master()) {
    ++blocked_no_bme_;
    return {ready_ps, false};
  }
  const uint32_t mps = mps_of(src);
  const bool msi = write && addr >= kMsiBase && addr < kMsiBase + kMsiSize;
  if (msi) ++msi_writes_;
  else if (write) ++dma_writes_;
  else ++dma_reads_;

  PcieExtension& ext = dma_ext_;
  ext = PcieExtension{};
  ext.rid = src.dma_rid();
  ext.trace_id = trace_id;
  ext.at = at;
  // A PCIe-to-PCI bridge issues requests from its secondary bus as (secondary bus, 00.0) (A2.3).
  for (const PciBus* b = src.bus(); b && b->bridge(); b = b->bridge()->bus())
    if (b->bridge()->port_type() == PortType::PcieToPciBridge) ext.rid = make_rid(b->number(), 0);
  tlm::tlm_generic_payload& trans = dma_trans_;  // reused: a payload allocates its extension array
  trans.set_extension(&ext);
  const auto now_ps = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const unsigned output = memory_output(src);
  uint64_t done = ready_ps;
  bool ok = true;
  uint32_t off = 0;
  for_each_request_chunk(addr, len, write ? mps : mrrs_of(src), [&](const Chunk& c) {
    uint8_t* chunk = data + off;
    off += c.length;
    const TlpType type = write ? TlpType::MemWrite : TlpType::MemRead;
    const Route route = route_up(src, ready_ps, type, c.address, write ? c.length : 0, ext.rid, ext.at);
    uint64_t t = route.t;
    if (route.kind == Route::Blocked) {  // ACS violation: a read gets a Completer Abort completion back
      ok = false;
      if (!write) {
        t = down_from(route.top, src.bus(), t, TlpType::Completion, c.address, 0);
        src.config().set(PCI_STATUS, 2, src.config().get(PCI_STATUS, 2) | PCI_STATUS_REC_TARGET_ABORT);
      }
      done = std::max(done, t);
      return;
    }
    if (route.kind == Route::Peer) {  // direct peer-to-peer below a switch: the IOMMU never sees it
      done = std::max(done, peer_access(src, route.peer, route.top, t, write, c, chunk, ok));
      return;
    }
    t = through_rc(t);
    if (msi) {
      uint32_t value = 0;
      std::memcpy(&value, chunk, std::min<uint32_t>(4, c.length));
      if (msi_) msi_(ext.rid, c.address, value, t);
      done = std::max(done, t);
      return;
    }
    if (const auto target = route_mmio(c.address, c.length)) {  // peer-to-peer through the root complex
      ++p2p_via_rc_;
      done = std::max(done, peer_access(src, *target, nullptr, t, write, c, chunk, ok));
      return;
    }
    trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans.set_address(c.address);
    trans.set_data_ptr(chunk);
    trans.set_data_length(c.length);
    trans.set_streaming_width(c.length);
    trans.set_byte_enable_ptr(nullptr);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = ClockDomain::to_time(t - std::min(t, now_ps));
    memory[output]->b_transport(trans, delay);
    const uint64_t mem_done = now_ps + ClockDomain::to_ps(delay);
    const bool chunk_ok = trans.is_response_ok();
    ok = ok && chunk_ok;
    if (chunk_ok) dma_bytes_ += c.length;
    if (write) {
      done = std::max(done, mem_done);
      return;
    }
    const uint64_t back = through_rc(mem_done);
    if (!chunk_ok) {  // Unsupported Request / Completer Abort: a completion without data
      done = std::max(done, down_from_root(src.bus(), back, TlpType::Completion, c.address, 0));
      return;
    }
    for_each_completion(c.address, c.length, mps, params_.rcb, [&](const CompletionChunk& cpl) {
      done = std::max(done, down_from_root(src.bus(), back, TlpType::CompletionData, cpl.address, cpl.length));
    });
  });
  trans.clear_extension(&ext);
  return {done, ok};
}

// The remapping unit of a request: the one whose scope holds the root-bus device it came up through.
unsigned RootComplex::memory_output(const PciFunction& src) {
  if (memory_route_.empty()) return default_memory_;  // one unit (or none): no walk per request
  const PciFunction* top = src.physfn() ? src.physfn() : &src;  // a VF sits where its PF does
  for (const PciBus* b = top->bus(); b && b->bridge(); b = b->bridge()->bus()) top = b->bridge();
  const auto it = memory_route_.find(top->devfn());
  const unsigned i = it != memory_route_.end() ? it->second : default_memory_;
  return i < static_cast<unsigned>(memory.size()) ? i : 0;  // size() is not const in SystemC 2.3
}

void RootComplex::intx(PciFunction& src, bool assert, uint64_t ready_ps) {
  const unsigned pin = src.config().get(PCI_INTERRUPT_PIN, 1);
  if (pin < 1 || pin > 4) return;
  const uint64_t t = through_rc(up_to_root(src.bus(), ready_ps, TlpType::Message, 0, 0));
  if (intx_) intx_(intx_gsi(src.bus(), src.devfn(), pin), assert, t);
}

uint64_t RootComplex::up_to(const PciBus* bus, const PciBus* top, uint64_t t, TlpType type, uint64_t addr,
                            uint32_t payload) {
  for (const PciBus* b = bus; b && b != top && b->bridge(); b = b->bridge()->bus()) {
    if (b->link()) t = b->link()->send_up(t, type, addr, payload);
    if (b->is_switch_internal()) t += params_.switch_latency_ps;
  }
  return t;
}

uint64_t RootComplex::down_from(const PciBus* top, const PciBus* bus, uint64_t t, TlpType type, uint64_t addr,
                                uint32_t payload) {
  if (!bus || bus == top || !bus->bridge()) return t;
  t = down_from(top, bus->bridge()->bus(), t, type, addr, payload);
  if (bus->is_switch_internal()) t += params_.switch_latency_ps;
  if (bus->link()) t = bus->link()->send_down(t, type, addr, payload);
  return t;
}

// Upstream routing with ACS at every root and downstream port the request enters from below
// (A2.4): Source Validation; a request for this port's own window (a loop back) turns around in
// the port unless Upstream Forwarding sends it on up; one for a sibling downstream port's window
// goes there inside the switch unless Request Redirect sends it up to the root complex (and the
// IOMMU) — Direct Translated lets translated requests through.
RootComplex::Route RootComplex::route_up(const PciFunction& src, uint64_t t, TlpType type, uint64_t addr,
                                         uint32_t payload, uint16_t rid, AddressType at) {
  const uint32_t len = payload ? payload : 4;
  for (const PciBus* b = src.bus(); b && b->bridge(); b = b->bridge()->bus()) {
    if (b->link()) t = b->link()->send_up(t, type, addr, payload);
    PciBridge* port = b->bridge();
    const bool ingress = port->port_type() == PortType::DownstreamPort || port->port_type() == PortType::RootPort;
    if (ingress) {
      const uint16_t ctrl = acs_control(*port);
      const uint8_t bus_no = static_cast<uint8_t>(rid >> 8);
      if ((ctrl & PCI_ACS_SV) && !bridge_routes_bus(port->config(), bus_no)) {
        acs_violation(*port, type, addr, payload, rid, t);
        return {Route::Blocked, t, {}, port->bus()};
      }
      if ((ctrl & PCI_ACS_TB) && at != AddressType::Untranslated) {  // Translation Blocking
        acs_violation(*port, type, addr, payload, rid, t);
        return {Route::Blocked, t, {}, port->bus()};
      }
      if (!(ctrl & PCI_ACS_UF) && bridge_forwards_memory(port->config(), addr)) {
        if (const auto target = route_mmio_below(&port->secondary(), addr, len)) {  // loop back in the port
          ++p2p_direct_;
          return {Route::Peer, t + params_.switch_latency_ps, *target, port->bus()};
        }
      }
      const bool redirect = (ctrl & PCI_ACS_RR) && !(at == AddressType::Translated && (ctrl & PCI_ACS_DT));
      if (port->port_type() == PortType::DownstreamPort && !redirect) {
        const PciBus* internal = port->bus();
        for (PciFunction* sibling : internal->functions()) {
          if (sibling == port || !sibling->is_bridge() || !bridge_forwards_memory(sibling->config(), addr)) continue;
          const auto target = route_mmio_below(&static_cast<PciBridge*>(sibling)->secondary(), addr, len);
          if (!target) break;
          ++p2p_direct_;
          return {Route::Peer, t + params_.switch_latency_ps, *target, internal};
        }
      }
    }
    if (b->is_switch_internal()) t += params_.switch_latency_ps;
  }
  return {Route::Root, t, {}, nullptr};
}

uint16_t RootComplex::acs_control(const PciBridge& port) {
  return port.acs_cap() ? static_cast<uint16_t>(port.config().get(port.acs_cap() + PCI_ACS_CTRL, 2)) : 0;
}

// An ACS violation at `port` (A1.7): blocked, counted, logged in the port's AER with the request's
// header, ERR_NONFATAL to the root port when enabled, and an event in the report.
void RootComplex::acs_violation(PciBridge& port, TlpType type, uint64_t addr, uint32_t payload, uint16_t rid,
                                uint64_t t) {
  ++acs_violations_;
  PciBridge* root = root_port_of(port);
  const bool sent = aer_report_uncorrectable(port, port.aer_cap(), PCI_ERR_UNC_ACSV,
                                             tlp_header_log(type, addr, payload, rid, 0), root, port.rid());
  if (sent) root_error_interrupt(*root, t);
  if (type != TlpType::MemWrite)  // a non-posted request is answered with Completer Abort
    port.config().set(PCI_STATUS, 2, port.config().get(PCI_STATUS, 2) | PCI_STATUS_SIG_TARGET_ABORT);
  if (events_) {
    char bdf[16];
    std::snprintf(bdf, sizeof bdf, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1F, rid & 7);
    events_->add(t, stats_.path(), "acs_violation",
                 {{"port", port.pci_name()}, {"source_id", bdf}, {"address", addr},
                  {"access", type == TlpType::MemWrite ? "write" : "read"}, {"err_msg_sent", sent}});
  }
}

PciBridge* RootComplex::root_port_of(PciFunction& fn) {
  PciBridge* root = fn.is_bridge() ? static_cast<PciBridge*>(&fn) : fn.bus()->bridge();
  while (root && root->port_type() != PortType::RootPort && root->bus()->bridge()) root = root->bus()->bridge();
  return root && root->port_type() == PortType::RootPort ? root : nullptr;
}

void RootComplex::root_error_interrupt(PciBridge& root, uint64_t t) {
  const uint16_t aer = root.aer_cap(), msi = root.msi_cap();
  if (!aer || !msi) return;
  const ConfigSpace& cfg = root.config();
  const uint32_t status = cfg.get(aer + PCI_ERR_ROOT_STATUS, 4), cmd = cfg.get(aer + PCI_ERR_ROOT_COMMAND, 4);
  const bool want = ((status & PCI_ERR_ROOT_NONFATAL_RCV) && (cmd & PCI_ERR_ROOT_CMD_NONFATAL_EN)) ||
                    ((status & PCI_ERR_ROOT_FATAL_RCV) && (cmd & PCI_ERR_ROOT_CMD_FATAL_EN));
  const uint32_t flags = cfg.get(msi + PCI_MSI_FLAGS, 2);
  if (!want || !(flags & PCI_MSI_FLAGS_ENABLE) || !(cfg.get(PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) return;
  const bool is64 = flags & PCI_MSI_FLAGS_64BIT;
  uint64_t addr = cfg.get(msi + PCI_MSI_ADDRESS_LO, 4);
  if (is64) addr |= static_cast<uint64_t>(cfg.get(msi + PCI_MSI_ADDRESS_HI, 4)) << 32;
  const uint32_t data = cfg.get(msi + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
  ++aer_interrupts_;
  ++msi_writes_;
  if (msi_) msi_(root.rid(), addr, data, through_rc(t));
}

// Where a completion from `completer` for requester `dest_bus` turns around: completions route by
// ID, so one for a requester below a sibling downstream port goes there inside the switch —
// unless Completion Redirect at the completer's port sends it up to the root complex (A2.4).
RootComplex::CplRoute RootComplex::route_completion(const PciFunction& completer, uint8_t dest_bus, uint64_t t,
                                                    TlpType type, uint64_t addr, uint32_t payload) {
  for (const PciBus* b = completer.bus(); b && b->bridge(); b = b->bridge()->bus()) {
    if (b->link()) t = b->link()->send_up(t, type, addr, payload);
    PciBridge* port = b->bridge();
    if (port->port_type() == PortType::DownstreamPort && !(acs_control(*port) & PCI_ACS_CR)) {
      const PciBus* internal = port->bus();
      for (PciFunction* sibling : internal->functions())
        if (sibling != port && sibling->is_bridge() && bridge_routes_bus(sibling->config(), dest_bus))
          return {internal, t + params_.switch_latency_ps};
    }
    if (b->is_switch_internal()) t += params_.switch_latency_ps;
  }
  return {nullptr, through_rc(through_rc(t))};
}

uint64_t RootComplex::peer_access(PciFunction& src, const MmioTarget& target, const PciBus* top, uint64_t t,
                                  bool write, const Chunk& c, uint8_t* data, bool& ok) {
  // `top` is the bus where the request turned around (a switch's internal bus), or the root.
  t = down_from(top, target.fn->bus(), t, write ? TlpType::MemWrite : TlpType::MemRead, c.address,
                write ? c.length : 0);
  sc_core::sc_time device_delay = sc_core::SC_ZERO_TIME;
  const auto status = target.fn->bar_access(target.hit.bar, target.hit.offset, write, data, c.length, t, device_delay);
  t += ClockDomain::to_ps(device_delay);
  const bool chunk_ok = status == tlm::TLM_OK_RESPONSE;
  ok = ok && chunk_ok;
  if (chunk_ok) dma_bytes_ += c.length;
  if (write) return t;
  // Completions return by ID (Completion Redirect decides where they turn around).
  const TlpType ct = chunk_ok ? TlpType::CompletionData : TlpType::Completion;
  const uint32_t cl = chunk_ok ? c.length : 0;
  const CplRoute back = route_completion(*target.fn, src.bus()->number(), t, ct, c.address, cl);
  return down_from(back.top, src.bus(), back.t, ct, c.address, cl);
}

// A request the IOMMU translated into a PCI window: down from the root complex to the BAR that
// claims it (Unsupported Request if none does); a read's completion climbs back to the root,
// from where dma() takes it down to the requester.
void RootComplex::translated_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  uint64_t t = now + ClockDomain::to_ps(delay);
  const uint64_t addr = trans.get_address();
  const uint32_t len = trans.get_data_length();
  const bool write = trans.is_write();
  const auto target = route_mmio(addr, len);
  if (!target) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  ++p2p_translated_;
  t = down_from(nullptr, target->fn->bus(), t, write ? TlpType::MemWrite : TlpType::MemRead, addr, write ? len : 0);
  sc_core::sc_time device_delay = sc_core::SC_ZERO_TIME;
  const auto status = target->fn->bar_access(target->hit.bar, target->hit.offset, write, trans.get_data_ptr(), len, t,
                                             device_delay);
  t += ClockDomain::to_ps(device_delay);
  const bool ok = status == tlm::TLM_OK_RESPONSE;
  if (!write) t = up_to(target->fn->bus(), nullptr, t, ok ? TlpType::CompletionData : TlpType::Completion, addr, ok ? len : 0);
  delay = ClockDomain::to_time(t - now);
  trans.set_response_status(status);
}

PciFunction* RootComplex::find_function(uint8_t bus, uint8_t devfn) const {
  const PciBus* b = &root_bus_;
  for (int depth = 0; depth < 256; ++depth) {
    if (b->number() == bus) {
      // Below a root or downstream port only device 0 answers, unless the port has ARI
      // Forwarding enabled (then the 8-bit function number is the whole devfn).
      if (b->link() && (devfn >> 3) != 0 && !ari_forwarding(*b->bridge())) return nullptr;
      return b->function_at(devfn);
    }
    const PciBus* next = nullptr;
    for (PciFunction* f : b->functions())
      if (f->is_bridge() && bridge_routes_bus(f->config(), bus)) {
        next = &static_cast<PciBridge*>(f)->secondary();
        break;
      }
    if (!next) return nullptr;
    b = next;
  }
  return nullptr;
}

std::optional<RootComplex::MmioTarget> RootComplex::route_mmio(uint64_t addr, uint64_t len) const {
  return route_mmio_below(&root_bus_, addr, len);
}

std::optional<RootComplex::MmioTarget> RootComplex::route_mmio_below(const PciBus* start, uint64_t addr,
                                                                     uint64_t len) const {
  const PciBus* b = start;
  for (int depth = 0; depth < 256; ++depth) {
    const PciBus* next = nullptr;
    for (PciFunction* f : b->functions()) {
      if (f->is_bridge()) {
        // A bridge's own BARs first, then its windows.
        if (auto hit = decode_bar(f->config(), f->bars(), addr, len, false)) return MmioTarget{f, *hit};
        if (bridge_forwards_memory(f->config(), addr)) {
          next = &static_cast<PciBridge*>(f)->secondary();
          break;
        }
      } else if (auto hit = f->decode_memory(addr, len)) {
        return MmioTarget{f, *hit};
      }
    }
    if (!next) return std::nullopt;
    b = next;
  }
  return std::nullopt;
}

void RootComplex::config_access(tlm::tlm_generic_payload& trans, uint64_t offset, uint64_t& t) {
  ++config_requests_;
  const auto bus = static_cast<uint8_t>(offset >> 20);
  const auto devfn = static_cast<uint8_t>(offset >> 12);
  const auto reg = static_cast<uint32_t>(offset & 0xFFF);
  const unsigned len = trans.get_data_length();
  PciFunction* fn = find_function(bus, devfn);
  t = through_rc(t);
  if (!fn) {
    ++unsupported_;
    if (trans.is_read()) std::memset(trans.get_data_ptr(), 0xFF, len);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  const bool write = trans.is_write();
  t = down_from_root(fn->bus(), t, write ? TlpType::ConfigWrite : TlpType::ConfigRead, 0, write ? 4 : 0);
  uint32_t value = 0;
  if (write) {
    std::memcpy(&value, trans.get_data_ptr(), std::min(len, 4u));
    fn->config().write(reg, len, value);
  } else {
    value = fn->config().read(reg, len);
    std::memcpy(trans.get_data_ptr(), &value, std::min(len, 4u));
  }
  t = up_to_root(fn->bus(), t, write ? TlpType::Completion : TlpType::CompletionData, 0, write ? 0 : 4);
  t = through_rc(t);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void RootComplex::mmio_access(tlm::tlm_generic_payload& trans, uint64_t& t) {
  ++mmio_requests_;
  const uint64_t addr = trans.get_address();
  const unsigned len = trans.get_data_length();
  t = through_rc(t);
  const auto target = route_mmio(addr, len);
  if (!target) {
    ++unsupported_;
    if (trans.is_read()) std::memset(trans.get_data_ptr(), 0xFF, len);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  const bool write = trans.is_write();
  const PciBus* bus = target->fn->bus();
  t = down_from_root(bus, t, write ? TlpType::MemWrite : TlpType::MemRead, addr, write ? len : 0);
  sc_core::sc_time device_delay = sc_core::SC_ZERO_TIME;
  const auto status =
      target->fn->bar_access(target->hit.bar, target->hit.offset, write, trans.get_data_ptr(), len, t, device_delay);
  t += ClockDomain::to_ps(device_delay);
  if (write && status != tlm::TLM_OK_RESPONSE && !target->fn->is_bridge()) {
    // A posted request the function cannot complete: Unsupported Request, an uncorrectable
    // (by default non-fatal) error it logs and reports to its root port. A non-posted one is an
    // advisory non-fatal error (ERR_COR), which is not modelled; its completion carries UR.
    ++unsupported_writes_;
    PciBridge* root = root_port_of(*target->fn);
    if (aer_report_uncorrectable(*target->fn, target->fn->aer_cap(), PCI_ERR_UNC_UNSUP,
                                 tlp_header_log(TlpType::MemWrite, addr, len, 0, 0), root, target->fn->rid()))
      root_error_interrupt(*root, t);
  }
  if (!write) {
    if (status != tlm::TLM_OK_RESPONSE) std::memset(trans.get_data_ptr(), 0xFF, len);
    t = up_to_root(bus, t, TlpType::CompletionData, addr, len);
    t = through_rc(t);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void RootComplex::host_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  uint64_t t = now + ClockDomain::to_ps(delay);
  const uint64_t addr = trans.get_address();
  if (addr >= params_.ecam_base && addr - params_.ecam_base < kEcamSize) config_access(trans, addr - params_.ecam_base, t);
  else mmio_access(trans, t);
  delay = ClockDomain::to_time(t - now);
}

void RootComplex::finalize(uint64_t end_ps) {
  for (auto& l : links_) l->finalize(end_ps);
}

}  // namespace vfiosim::pci
