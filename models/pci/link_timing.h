// PCIe link rates and the data-link-layer overhead, as numbers a serialiser can use.
//
// Raw rate: GT/s x encoding (8b/10b for Gen1/2, 128b/130b for Gen3-5) per lane (A4.3). A TLP's
// bytes are striped over the lanes. Ack and UpdateFC DLLPs travelling the same direction, and
// SKP ordered sets, take a fixed share of the link: ack = 8 B / AckLimit, fc = 8 B / FC update
// interval (PCIe Base Spec r5.0 tables 3-7..3-9 and 2-46..2-48, indexed by generation, width and
// MPS), skip = 4 / 1538 — the pcie-bench model (perf-anchors.md §1.1), so TLP-layer bandwidth is
// raw x (1 - ack - fc - skip): 57.88 Gb/s for Gen3 x8 at MPS 256.
//
// Serialisation time is kept as an exact rational number of picoseconds, so a long stream of
// TLPs takes exactly the time the fluid model predicts; only event times are rounded (up, to the
// link's symbol clock).
#pragma once

#include <cstdint>
#include <map>
#include <vector>
#include <string>

#include "sim/base/clock.h"
#include "sim/base/int128.h"

namespace vfiosim::pci {

/// True for the generations (1-5) and widths (1, 2, 4, 8, 12, 16, 32) a link may have.
bool valid_generation(unsigned gen);
bool valid_width(unsigned width);
bool valid_payload_size(uint32_t bytes);  // 128 .. 4096, a power of two (MPS, MRRS)

class LinkTiming {
 public:
  LinkTiming(unsigned gen, unsigned width, uint32_t mps);

  unsigned gen() const { return gen_; }
  unsigned width() const { return width_; }
  uint32_t mps() const { return mps_; }

  /// The symbol clock: one byte per lane per cycle.
  const ClockDomain& symbol_clock() const { return clock_; }

  /// Raw bandwidth of all lanes after line encoding, in Gb/s.
  double raw_gbps() const;
  /// Share of link time taken by Ack and UpdateFC DLLPs and SKP ordered sets.
  double dll_overhead() const;
  /// Bandwidth left for TLPs, in Gb/s (raw x (1 - overhead)).
  double tlp_gbps() const { return raw_gbps() * (1.0 - dll_overhead()); }

  /// Exact times, as whole picoseconds plus a remainder in units of 1/denominator() ps.
  struct Span {
    uint64_t ps;
    uint128_t rem;
  };
  /// Time to put `wire_bytes` on the lanes: the latency of one TLP on an idle link.
  Span transfer(uint32_t wire_bytes) const;
  /// Link time a TLP uses up, including its share of Ack/UpdateFC DLLPs and SKP ordered sets:
  /// what a stream of TLPs advances the link by, so sustained bandwidth is tlp_gbps().
  Span occupancy(uint32_t wire_bytes) const;
  uint128_t denominator() const { return q_; }

  static uint32_t ack_limit(unsigned gen, unsigned width, uint32_t mps);
  static uint32_t fc_interval(unsigned gen, unsigned width, uint32_t mps);

 private:
  unsigned gen_;
  unsigned width_;
  uint32_t mps_;
  ClockDomain clock_;
  uint128_t per_byte_raw_;  // transfer time of one wire byte = per_byte_raw_ / q_ ps
  uint128_t per_byte_num_;  // occupancy of one wire byte = per_byte_num_ / q_ ps
  uint128_t q_;
  // A link sees a handful of TLP sizes: their spans are kept (direct-mapped by size) so the
  // 128-bit divisions run once per size.
  struct Cached {
    uint32_t bytes = ~0u;
    Span transfer, occupancy;
  };
  mutable Cached cache_[16];
  const Cached& spans(uint32_t wire_bytes) const;
};

/// One direction of a link: a serialiser that sends one TLP at a time. Bookings are arithmetic
/// (no kernel event). They may be made for a time in the future (a completion that will be ready
/// after a memory access): a TLP ready earlier still goes first if it fits in the gap before such
/// a booking, so a future booking never holds up traffic that is ready now. Busy intervals that
/// ended before the current simulated time are forgotten.
class Serialiser {
 public:
  explicit Serialiser(const LinkTiming& timing) : timing_(timing) {}

  /// Sends a TLP of `wire_bytes` that is ready at `ready_ps`: it starts when the link is free and
  /// the link stays busy for its occupancy. Returns the picosecond its last byte is on the wire
  /// (start + transfer time), rounded up to the symbol clock.
  uint64_t send(uint64_t ready_ps, uint32_t wire_bytes);

  uint64_t busy_ps() const { return busy_ps_; }
  uint64_t tlps() const { return tlps_; }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Exact {  // ps + rem / q
    uint64_t ps;
    uint128_t rem;
    bool operator<(const Exact& o) const { return ps != o.ps ? ps < o.ps : rem < o.rem; }
    bool operator==(const Exact& o) const { return ps == o.ps && rem == o.rem; }
  };
  Exact add(Exact a, LinkTiming::Span s) const;
  uint64_t finish(const Exact& start, const Exact& end, uint32_t wire_bytes);
  void prune(uint64_t now_ps);

  const LinkTiming& timing_;
  struct Booking {
    Exact start, end;
  };
  // Disjoint bookings sorted by start. A link holds a few at a time, so a vector (no node
  // allocation, a short memmove to insert) beats a tree.
  std::vector<Booking> busy_;
  uint64_t busy_ps_ = 0;
  uint64_t tlps_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace vfiosim::pci
