// Parameters of a host-side DMA master (traffic generator), one entry of /platform/dma_masters.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sim/config/spec.h"

namespace vfiosim {

struct DmaMasterParams {
  static constexpr uint64_t kDefaultClockMhz = 1000;
  static constexpr uint64_t kDefaultIssueCycles = 1;
  static constexpr uint64_t kDefaultMaxOutstanding = 256;

  std::string name;
  uint64_t clock_mhz = kDefaultClockMhz;
  uint64_t issue_cycles = kDefaultIssueCycles;
  uint64_t max_outstanding = kDefaultMaxOutstanding;

  static std::shared_ptr<const config::ObjectSpec> spec();
  static DmaMasterParams from(const config::json& resolved);
};

}  // namespace vfiosim
