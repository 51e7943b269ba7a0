// A PCI Express link between a downstream port (root port or switch downstream port) and the
// device below it: two independent directions, each a Serialiser with its own stats, plus a fixed
// one-way latency for the PHY and data-link pipelines at both ends.
#pragma once

#include <cstdint>
#include <array>
#include <string>

#include "models/pci/credits.h"
#include "models/pci/link_timing.h"
#include "models/pci/tlp.h"
#include "sim/base/trace_writer.h"
#include "sim/stats/group.h"

namespace vfiosim::pci {

struct LinkParams {
  unsigned gen = 3;
  unsigned width = 8;
  uint32_t mps = 256;         // payload size the link's MPS tables are chosen for
  uint64_t latency_ps = 0;    // one-way PHY + DLL pipeline latency
  /// Credits each receiver advertises, by CreditType order (PH, PD, NPH, NPD, CplH, CplD);
  /// 0 is infinite. A credit comes back one credit loop after its TLP arrived: the receiver
  /// drains it (`drain_ps`) and the UpdateFC DLLP crosses the link (`latency_ps`).
  uint32_t credits[kCreditTypes] = {0, 0, 0, 0, 0, 0};
  uint64_t drain_ps = 0;
};

class PcieLink {
 public:
  PcieLink(std::string name, const LinkParams& params, stats::Group& parent, TraceWriter* trace);

  const std::string& name() const { return name_; }
  const LinkParams& params() const { return params_; }
  const LinkTiming& timing() const { return timing_; }

  /// Sends a TLP towards the root (device -> port); returns when it has fully arrived.
  uint64_t send_up(uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload);
  /// Sends a TLP away from the root (port -> device); returns when it has fully arrived.
  uint64_t send_down(uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload);

  /// Updates utilisation gauges for a run that ended at `end_ps`.
  void finalize(uint64_t end_ps);

 private:
  struct Direction {
    Direction(const LinkTiming& t, stats::Group& g, const char* label, const LinkParams& p);
    Serialiser serialiser;
    stats::Counter& tlps;
    stats::Counter& wire_bytes;
    stats::Counter& payload_bytes;
    stats::Gauge& utilisation;
    stats::Counter& credit_stalls;
    stats::Counter& credit_stall_ps;
    std::array<CreditPool, kCreditTypes> credits;
    int track = 0;
  };
  uint64_t send(Direction& d, uint64_t ready_ps, TlpType type, uint64_t address, uint32_t payload);

  std::string name_;
  LinkParams params_;
  LinkTiming timing_;
  stats::Group& stats_;
  Direction up_;
  Direction down_;
  TraceWriter* trace_;
};

}  // namespace vfiosim::pci
