// A DMA workload — what a traffic source is asked to do — and what it measured. Shared by every
// DMA-capable model (this host-side DMA master now, the PCIe DMA engine later).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/base/rng.h"
#include "sim/stats/histogram.h"

namespace vfiosim {

enum class DmaDirection { Read, Write };
enum class AddressPattern { Sequential, Random };

const char* to_string(DmaDirection d);
const char* to_string(AddressPattern p);

struct Workload {
  DmaDirection direction = DmaDirection::Read;
  AddressPattern pattern = AddressPattern::Sequential;
  uint64_t size = 64;        // bytes per request
  uint64_t count = 1;        // requests
  uint64_t outstanding = 1;  // requests in flight at most
  uint64_t address = 0;      // window base
  uint64_t window = 0;       // bytes the addresses stay within (>= size)
  uint64_t stride = 0;       // bytes between slot starts (0: size); aligns requests when larger
  uint64_t data_seed = 0;    // selects the data pattern written or expected
  bool verify = false;       // reads: compare data with the pattern
  /// Where the data pattern of the window's first byte is taken from (0: `address`). A device
  /// behind an IOMMU addresses IOVAs while the pattern was written at physical addresses.
  uint64_t pattern_address = 0;

  /// The address whose pattern the byte at bus address `addr` carries.
  uint64_t pattern_of(uint64_t addr) const { return pattern_address ? addr - address + pattern_address : addr; }

  uint64_t slot_stride() const { return stride ? stride : size; }
  /// Request slots in the window: every slot starts a stride apart and fits entirely (at least 1).
  uint64_t slots() const { return window >= size ? (window - size) / slot_stride() + 1 : 1; }
};

/// Generates request addresses: sequential slots wrapping in the window, or uniform random slots.
class AddressGenerator {
 public:
  AddressGenerator(const Workload& w, Rng rng) : w_(w), rng_(rng) {}
  uint64_t next();

 private:
  const Workload& w_;
  Rng rng_;
  uint64_t index_ = 0;
};

/// The data pattern: byte at physical address `addr` for a given seed. A write fills its buffer
/// with it and a verifying read compares against it, so data integrity is checked end to end.
void fill_pattern(uint64_t addr, uint64_t seed, uint8_t* buf, uint64_t len);
/// Number of bytes in buf that differ from the pattern.
uint64_t count_mismatches(uint64_t addr, uint64_t seed, const uint8_t* buf, uint64_t len);

/// The outputs of a workload as a step reports them (also a results row's measured columns).
struct WorkloadSummary {
  uint64_t requests = 0, bytes = 0, errors = 0, mismatches = 0, duration_ps = 0;
  uint64_t lat_min_ps = 0, lat_p50_ps = 0, lat_p90_ps = 0, lat_p99_ps = 0, lat_max_ps = 0;
  double lat_mean_ps = 0;
  double bandwidth_gbps() const;
  nlohmann::json to_json() const;
};

struct WorkloadResult {
  uint64_t requests = 0;
  uint64_t bytes = 0;        // bytes moved by successful requests
  uint64_t errors = 0;       // requests that completed with an error response
  uint64_t mismatches = 0;   // bytes that failed verification
  uint64_t first_issue_ps = 0;
  uint64_t last_done_ps = 0;
  stats::Distribution latency_ps;

  uint64_t duration_ps() const { return last_done_ps - first_issue_ps; }
  /// Payload bandwidth in Gb/s (1e9 bits per second) over first issue .. last completion.
  double bandwidth_gbps() const;
  WorkloadSummary summary() const;
  nlohmann::json to_json() const { return summary().to_json(); }
};

}  // namespace vfiosim
