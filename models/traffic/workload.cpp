#include "models/traffic/workload.h"

#include "sim/base/units.h"

namespace vfiosim {

const char* to_string(DmaDirection d) { return d == DmaDirection::Read ? "read" : "write"; }
const char* to_string(AddressPattern p) { return p == AddressPattern::Sequential ? "sequential" : "random"; }

uint64_t AddressGenerator::next() {
  const uint64_t slot = w_.pattern == AddressPattern::Sequential ? index_++ % w_.slots() : rng_.below(w_.slots());
  return w_.address + slot * w_.slot_stride();
}

namespace {
inline uint64_t pattern_word(uint64_t word_index, uint64_t seed) {
  uint64_t s = word_index ^ (seed * 0x9e3779b97f4a7c15ULL);
  return Rng::splitmix64(s);
}
}  // namespace

void fill_pattern(uint64_t addr, uint64_t seed, uint8_t* buf, uint64_t len) {
  if (addr % 8 == 0 && len % 8 == 0) {  // the common case: whole little-endian words
    for (uint64_t i = 0; i < len; i += 8) {
      const uint64_t word = pattern_word((addr + i) / 8, seed);
      for (int b = 0; b < 8; ++b) buf[i + b] = static_cast<uint8_t>(word >> (8 * b));
    }
    return;
  }
  for (uint64_t i = 0; i < len;) {
    const uint64_t a = addr + i;
    const uint64_t word = pattern_word(a / 8, seed);
    for (uint64_t b = a % 8; b < 8 && i < len; ++b, ++i) buf[i] = static_cast<uint8_t>(word >> (8 * b));
  }
}

uint64_t count_mismatches(uint64_t addr, uint64_t seed, const uint8_t* buf, uint64_t len) {
  uint64_t bad = 0;
  for (uint64_t i = 0; i < len;) {
    const uint64_t a = addr + i;
    const uint64_t word = pattern_word(a / 8, seed);
    for (uint64_t b = a % 8; b < 8 && i < len; ++b, ++i) bad += buf[i] != static_cast<uint8_t>(word >> (8 * b));
  }
  return bad;
}

double WorkloadResult::bandwidth_gbps() const { return summary().bandwidth_gbps(); }

WorkloadSummary WorkloadResult::summary() const {
  WorkloadSummary s;
  s.requests = requests;
  s.bytes = bytes;
  s.errors = errors;
  s.mismatches = mismatches;
  s.duration_ps = duration_ps();
  s.lat_min_ps = latency_ps.min();
  s.lat_p50_ps = latency_ps.percentile(50);
  s.lat_p90_ps = latency_ps.percentile(90);
  s.lat_p99_ps = latency_ps.percentile(99);
  s.lat_max_ps = latency_ps.max();
  s.lat_mean_ps = latency_ps.mean();
  return s;
}

double WorkloadSummary::bandwidth_gbps() const {
  return duration_ps ? static_cast<double>(bytes) * 8.0 / static_cast<double>(duration_ps) * 1000.0 : 0.0;
}

nlohmann::json WorkloadSummary::to_json() const {
  auto ns = [](uint64_t ps) { return round_to(static_cast<double>(ps) / 1000.0, 3); };
  return {{"requests", requests},
          {"bytes", bytes},
          {"errors", errors},
          {"data_mismatches", mismatches},
          {"duration_ns", ns(duration_ps)},
          {"bandwidth_gbps", round_to(bandwidth_gbps(), 4)},
          {"latency_ns_mean", round_to(lat_mean_ps / 1000.0, 3)},
          {"latency_ns_min", ns(lat_min_ps)},
          {"latency_ns_p50", ns(lat_p50_ps)},
          {"latency_ns_p90", ns(lat_p90_ps)},
          {"latency_ns_p99", ns(lat_p99_ps)},
          {"latency_ns_max", ns(lat_max_ps)}};
}

}  // namespace vfiosim
