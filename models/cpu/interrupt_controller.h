// Where interrupts land: the root complex hands every write to the MSI window here at its arrival
// time (the local APIC the address names, bits 19:12, and the vector in data bits 7:0 make the key
// kernel code waits on: msi_key()), and every INTx
// message as a change of a level-triggered line. Models the delivery point only (no APIC routing,
// priorities or interrupt remapping).
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <systemc>

#include "sim/stats/group.h"

namespace vfiosim {

class InterruptController {
 public:
  explicit InterruptController(stats::Group& parent);

  /// An MSI write with `data` arriving at `arrival_ps` (from the root complex, during a call).
  void deliver(uint16_t rid, uint64_t address, uint32_t data, uint64_t arrival_ps);

  /// The key of the vector `vector` of the local APIC `apic_id` (what an MSI message addresses).
  static uint32_t msi_key(unsigned apic_id, unsigned vector) { return ((apic_id & 0xFF) << 8) | (vector & 0xFF); }

  /// The event notified when `vector` (an msi_key) fires.
  sc_core::sc_event& event(uint32_t vector);
  /// Messages delivered so far for `vector` (counted at delivery time, not arrival).
  uint64_t count(uint32_t vector) const;
  /// Blocks the calling thread until `vector` has fired more than `seen` times; returns the count.
  uint64_t wait_for(uint32_t vector, uint64_t seen);

  // Level-triggered lines (IOAPIC inputs) for INTx: each Assert_INTx / Deassert_INTx message that
  // the root complex maps to `gsi` moves the line's count of asserting sources (wired-OR).
  void set_line(unsigned gsi, bool assert, uint64_t arrival_ps);
  /// Sources asserting `gsi` now.
  unsigned level(unsigned gsi) const;
  /// Notified whenever `gsi`'s level changes.
  sc_core::sc_event& line_event(unsigned gsi);

 private:
  struct Line {
    std::unique_ptr<sc_core::sc_event> event;
    unsigned asserted = 0;
  };
  Line& line(unsigned gsi);
  std::map<unsigned, Line> lines_;
  struct Vector {
    std::unique_ptr<sc_core::sc_event> event;
    uint64_t fired = 0;
  };
  Vector& vec(uint32_t v);
  std::map<uint32_t, Vector> vectors_;
  stats::Group& stats_;
  stats::Counter& messages_;
  stats::Counter& intx_messages_;
};

}  // namespace vfiosim
