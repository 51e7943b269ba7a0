// Parameters of the host memory model: the spec (layer 1, as a scenario writes it under
// /platform/memory) and the resolved, typed parameters (layer 2).
#pragma once

#include <cstdint>
#include <memory>

#include "sim/config/spec.h"

namespace vfiosim {

struct MemoryParams {
  static constexpr const char* kDefaultSize = "16GiB";
  static constexpr uint64_t kDefaultClockMhz = 1200;     // DDR4-2400 controller clock
  static constexpr uint64_t kDefaultLatencyCycles = 96;  // 80 ns device-visible (perf-anchors §6)
  static constexpr uint64_t kDefaultBytesPerCycle = 16;  // 19.2 GB/s, one DDR4-2400 channel

  uint64_t size = 0;
  uint64_t clock_mhz = kDefaultClockMhz;
  uint64_t latency_cycles = kDefaultLatencyCycles;
  uint64_t bytes_per_cycle = kDefaultBytesPerCycle;

  static std::shared_ptr<const config::ObjectSpec> spec();
  /// From a value already resolved against spec().
  static MemoryParams from(const config::json& resolved);
};

}  // namespace vfiosim
