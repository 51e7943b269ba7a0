#include "models/pci/pcie_link.h"

namespace vfiosim::pci {

PcieLink::Direction::Direction(const LinkTiming& t, stats::Group& g, const char* label, const LinkParams& p)
    : serialiser(t),
      tlps(g.counter(std::string(label) + "_tlps", "TLPs", std::string("TLPs sent ") + label)),
      wire_bytes(g.counter(std::string(label) + "_wire_bytes", "bytes",
                           std::string("Bytes on the wire ") + label + " (framing, header, payload)")),
      payload_bytes(g.counter(std::string(label) + "_payload_bytes", "bytes", std::string("Payload bytes ") + label)),
      utilisation(g.gauge(std::string(label) + "_utilisation", "ratio",
                          std::string("Fraction of simulated time the ") + label + " direction was busy")),
      credit_stalls(g.counter(std::string(label) + "_credit_stalls", "TLPs",
                              std::string("TLPs that waited for flow-control credits ") + label)),
      credit_stall_ps(g.counter(std::string(label) + "_credit_stall_ps", "ps",
                                std::string("Time TLPs waited for flow-control credits ") + label)),
      credits{CreditPool(p.credits[0]), CreditPool(p.credits[1]), CreditPool(p.credits[2]),
              CreditPool(p.credits[3]), CreditPool(p.credits[4]), CreditPool(p.credits[5])} {}

PcieLink::PcieLink(std::string name, const LinkParams& params, stats::Group& parent, TraceWriter* trace)
    : name_(std::move(name)),
      params_(params),
      timing_(params.gen, params.width, params.mps),
      stats_(parent.child(name_)),
      up_(timing_, stats_, "up", params),
      down_(timing_, stats_, "down", params),
      trace_(trace) {
  stats_.gauge("tlp_layer_gbps", "Gb/s", "Link bandwidth left for TLPs after DLLP and SKP overhead")
      .set(timing_.tlp_gbps());
  if (trace_) {
    up_.track = trace_->track(name_ + ".up");
    down_.track = trace_->track(name_ + ".down");
  }
}

uint64_t PcieLink::send(Direction& d, uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload) {
  const uint32_t wire = wire_bytes(type, address, payload);
  // Flow control: wait for the receiver's header and data credits (A4.5).
  const CreditNeed need = credits_for(type, payload);
  CreditPool& hdr = d.credits[static_cast<int>(need.header)];
  CreditPool& dat = d.credits[static_cast<int>(need.data)];
  uint64_t go = hdr.acquire(ready_ps, need.header_credits);
  go = dat.acquire(go, need.data_credits);
  if (go > ready_ps) {
    ++d.credit_stalls;
    d.credit_stall_ps += go - ready_ps;
  }
  const uint64_t busy_before = d.serialiser.busy_ps();
  const uint64_t end = d.serialiser.send(go, wire);
  const uint64_t returned = end + params_.latency_ps + params_.drain_ps + params_.latency_ps;
  hdr.release_at(returned, need.header_credits);
  dat.release_at(returned, need.data_credits);
  ++d.tlps;
  d.wire_bytes += wire;
  d.payload_bytes += payload;
  if (trace_) {
    // One async slice per TLP on the direction's track (its time on the wire) and the link's
    // occupancy as a counter.
    const uint64_t start = std::max(ready_ps, end - std::min(end, d.serialiser.busy_ps() - busy_before));
    const uint64_t id = trace_->next_id();
    static const char* names[] = {"MRd", "MWr", "Cpl", "CplD", "CfgRd", "CfgWr", "Msg"};
    const char* name = names[static_cast<int>(type)];
    trace_->async_begin(d.track, "tlp", name, id, start, {{"address", address}, {"payload", payload}, {"wire", wire}});
    trace_->async_end(d.track, "tlp", name, id, end);
    trace_->counter(d.track, "busy", start, 1);
    trace_->counter(d.track, "busy", end, 0);
  }
  return end + params_.latency_ps;
}

uint64_t PcieLink::send_up(uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload) {
  return send(up_, ready_ps, type, address, payload);
}

uint64_t PcieLink::send_down(uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload) {
  return send(down_, ready_ps, type, address, payload);
}

void PcieLink::finalize(uint64_t end_ps) {
  for (Direction* d : {&up_, &down_})
    d->utilisation.set(end_ps ? std::min(1.0, static_cast<double>(d->serialiser.busy_ps()) / static_cast<double>(end_ps))
                              : 0.0);
}

}  // namespace vfiosim::pci
