#include "models/pci/link_timing.h"

#include <algorithm>

#include <stdexcept>

namespace vfiosim::pci {

bool valid_generation(unsigned gen) { return gen >= 1 && gen <= 5; }

namespace {

int width_index(unsigned width) {
  switch (width) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
    case 12: return 4;  // x12 uses the x16 row (no separate row in the tables)
    case 16: return 4;
    case 32: return 5;
  }
  return -1;
}

int mps_index(uint32_t mps) {
  int i = 0;
  for (uint32_t v = 128; v <= 4096; v <<= 1, ++i)
    if (v == mps) return i;
  return -1;
}

// PCIe Base Spec r5.0 Ack latency limits (tables 3-7..3-9) and UpdateFC intervals (tables
// 2-46..2-48), in symbol times, by [gen 1, 2, 3+][width x1..x32][MPS 128..4096]. Gen4 and Gen5
// use the Gen3 rows, as the pcie-bench model does.
constexpr uint16_t kAck[3][6][6] = {
    {{237, 416, 559, 1071, 2095, 4143}, {128, 217, 289, 545, 1057, 2081}, {73, 118, 154, 282, 538, 1050},
     {67, 107, 86, 150, 278, 534}, {48, 72, 86, 150, 278, 534}, {33, 45, 52, 84, 148, 276}},
    {{288, 467, 610, 1122, 2146, 4194}, {179, 268, 340, 596, 1108, 2132}, {124, 169, 205, 333, 589, 1101},
     {118, 158, 137, 201, 329, 585}, {99, 123, 137, 201, 329, 585}, {84, 96, 103, 135, 199, 237}},
    {{333, 512, 655, 1167, 2191, 4239}, {224, 313, 385, 641, 1153, 2177}, {169, 214, 250, 378, 634, 1146},
     {163, 203, 182, 246, 374, 630}, {144, 168, 182, 246, 374, 630}, {129, 141, 148, 180, 244, 372}},
};
constexpr uint16_t kFc[3][6][6] = {
    {{237, 416, 559, 1071, 2095, 4143}, {128, 217, 289, 545, 1057, 2081}, {73, 118, 154, 282, 538, 1050},
     {67, 107, 86, 150, 278, 534}, {48, 72, 86, 150, 278, 534}, {33, 45, 52, 84, 248, 276}},
    {{288, 467, 610, 1122, 2146, 4194}, {179, 268, 340, 596, 1108, 2132}, {124, 169, 205, 333, 589, 1101},
     {118, 158, 137, 201, 329, 585}, {99, 123, 137, 201, 329, 585}, {84, 96, 103, 135, 199, 327}},
    {{333, 512, 655, 1167, 2191, 4239}, {224, 313, 385, 641, 1153, 2177}, {169, 214, 250, 378, 634, 1146},
     {163, 203, 182, 246, 374, 630}, {144, 168, 182, 246, 374, 630}, {129, 141, 148, 180, 244, 372}},
};

constexpr uint32_t kDllpBytes = 8;     // 2 B framing + 4 B DLLP + 2 B CRC
constexpr uint32_t kSkipLength = 4;    // SKP ordered set symbols
constexpr uint32_t kSkipInterval = 1538;

// Bytes per second on one lane = GT/s x encoding / 8 bits, as lane_num(gen) / lane_den(gen).
uint64_t lane_num(unsigned gen) {
  static const uint64_t gts[] = {2500000000ULL, 5000000000ULL, 8000000000ULL, 16000000000ULL, 32000000000ULL};
  return gen <= 2 ? gts[gen - 1] * 8 / 10 / 8 : gts[gen - 1] * 128 / 8;
}
uint64_t lane_den(unsigned gen) { return gen <= 2 ? 1 : 130; }

ClockDomain symbol_clock_for(unsigned gen, unsigned width) {
  if (!valid_generation(gen)) throw std::invalid_argument("PCIe generation must be 1..5");
  return ClockDomain("pcie.gen" + std::to_string(gen) + "x" + std::to_string(width) + ".symbol", lane_num(gen),
                     lane_den(gen));
}

}  // namespace

bool valid_width(unsigned width) { return width_index(width) >= 0; }
bool valid_payload_size(uint32_t bytes) { return mps_index(bytes) >= 0; }

uint32_t LinkTiming::ack_limit(unsigned gen, unsigned width, uint32_t mps) {
  return kAck[std::min(gen, 3u) - 1][width_index(width)][mps_index(mps)];
}
uint32_t LinkTiming::fc_interval(unsigned gen, unsigned width, uint32_t mps) {
  return kFc[std::min(gen, 3u) - 1][width_index(width)][mps_index(mps)];
}

LinkTiming::LinkTiming(unsigned gen, unsigned width, uint32_t mps)
    : gen_(gen), width_(width), mps_(mps), clock_(symbol_clock_for(gen, width)) {
  if (!valid_width(width)) throw std::invalid_argument("PCIe link width must be x1, x2, x4, x8, x12, x16 or x32");
  if (!valid_payload_size(mps)) throw std::invalid_argument("MPS must be a power of two from 128 to 4096");
  // One wire byte occupies 1/width symbol times, stretched by 1/(1 - 8/A - 8/F - 4/1538).
  // With symbol time = 1e12 * den / num ps and the stretch = A*F*S / (A*F*S - 8*F*S - 8*A*S - 4*A*F):
  //   occupancy(byte) = 1e12 * den * A*F*S / (width * num * D)
  const uint128_t a = ack_limit(gen, width, mps), f = fc_interval(gen, width, mps), s = kSkipInterval;
  const uint128_t afs = a * f * s;
  const uint128_t d = afs - kDllpBytes * f * s - kDllpBytes * a * s - kSkipLength * a * f;
  per_byte_raw_ = static_cast<uint128_t>(1000000000000ULL) * lane_den(gen) * d;
  per_byte_num_ = static_cast<uint128_t>(1000000000000ULL) * lane_den(gen) * afs;
  q_ = static_cast<uint128_t>(width) * lane_num(gen) * d;
}

double LinkTiming::raw_gbps() const {
  return static_cast<double>(lane_num(gen_)) * 8.0 / static_cast<double>(lane_den(gen_)) * width_ / 1e9;
}

double LinkTiming::dll_overhead() const {
  return static_cast<double>(kDllpBytes) / ack_limit(gen_, width_, mps_) +
         static_cast<double>(kDllpBytes) / fc_interval(gen_, width_, mps_) +
         static_cast<double>(kSkipLength) / kSkipInterval;
}

const LinkTiming::Cached& LinkTiming::spans(uint32_t wire_bytes) const {
  Cached& c = cache_[(wire_bytes ^ (wire_bytes >> 4)) & 15];
  if (c.bytes != wire_bytes) {
    const uint128_t t = per_byte_raw_ * wire_bytes, o = per_byte_num_ * wire_bytes;
    c.bytes = wire_bytes;
    c.transfer = {static_cast<uint64_t>(t / q_), t % q_};
    c.occupancy = {static_cast<uint64_t>(o / q_), o % q_};
  }
  return c;
}

LinkTiming::Span LinkTiming::transfer(uint32_t wire_bytes) const { return spans(wire_bytes).transfer; }

LinkTiming::Span LinkTiming::occupancy(uint32_t wire_bytes) const { return spans(wire_bytes).occupancy; }

Serialiser::Exact Serialiser::add(Exact a, LinkTiming::Span s) const {
  a.ps += s.ps;
  a.rem += s.rem;
  if (a.rem >= timing_.denominator()) {
    a.rem -= timing_.denominator();
    ++a.ps;
  }
  return a;
}

void Serialiser::prune(uint64_t now_ps) {
  // Nobody books before the current time, so intervals that ended by then can go.
  size_t n = 0;
  while (n < busy_.size() && busy_[n].end.ps < now_ps) ++n;
  if (n) busy_.erase(busy_.begin(), busy_.begin() + static_cast<std::ptrdiff_t>(n));
}

uint64_t Serialiser::send(uint64_t ready_ps, uint32_t wire_bytes) {
  prune(ClockDomain::to_ps(sc_core::sc_time_stamp()));
  const auto occ = timing_.occupancy(wire_bytes);
  // Earliest start >= ready where the whole occupancy fits between busy intervals.
  Exact start{ready_ps, 0};
  auto by_start = [](const Exact& v, const Booking& b) { return v < b.start; };
  auto it = std::upper_bound(busy_.begin(), busy_.end(), start, by_start);  // first starting after `start`
  if (it != busy_.begin()) {
    const auto prev = std::prev(it);
    if (start < prev->end) start = prev->end;
  }
  while (it != busy_.end() && it->start < add(start, occ)) {
    if (start < it->end) start = it->end;
    ++it;
  }
  const Exact end = add(start, occ);
  // Insert, merging with touching neighbours so the list stays short. The common case on a busy
  // link — appending right behind the last booking — only moves that booking's end.
  if (!busy_.empty() && busy_.back().end == start) {
    busy_.back().end = end;
    return finish(start, end, wire_bytes);
  }
  auto next = std::lower_bound(busy_.begin(), busy_.end(), end,
                               [](const Booking& b, const Exact& v) { return b.start < v; });
  Booking nb{start, end};
  if (next != busy_.end() && next->start == end) {  // touches the next booking: absorb it
    nb.end = next->end;
    next = busy_.erase(next);
  }
  if (next != busy_.begin() && std::prev(next)->end == start) {  // touches the previous one
    std::prev(next)->end = nb.end;
    return finish(start, end, wire_bytes);
  }
  busy_.insert(next, nb);
  return finish(start, end, wire_bytes);
}

uint64_t Serialiser::finish(const Exact& start, const Exact& end, uint32_t wire_bytes) {
  busy_ps_ += end.ps - start.ps;
  ++tlps_;
  bytes_ += wire_bytes;
  // The TLP's last byte is on the wire after its transfer time (the rest of its occupancy is
  // its share of DLLPs and SKPs).
  const Exact done = add(start, timing_.transfer(wire_bytes));
  const uint64_t done_ps = done.ps + (done.rem ? 1 : 0);
  return timing_.symbol_clock().ps_of(timing_.symbol_clock().cycle_at_or_after(done_ps));
}

}  // namespace vfiosim::pci
