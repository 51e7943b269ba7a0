// Replacement policies for the IOMMU's set-associative caches, behind one interface so an
// architect can swap them per cache (`replacement`: "lru", "fifo", "random").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/base/rng.h"

namespace vfiosim::iommu {

class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;
  /// A hit on (set, way).
  virtual void touch(uint32_t set, uint32_t way) = 0;
  /// A fill into (set, way).
  virtual void filled(uint32_t set, uint32_t way) = 0;
  /// The way to evict in a full set.
  virtual uint32_t victim(uint32_t set) = 0;
};

/// "lru", "fifo" or "random"; `sets` x `ways` entries; `rng` seeds the random policy.
std::unique_ptr<ReplacementPolicy> make_policy(const std::string& name, uint32_t sets, uint32_t ways, Rng rng);

}  // namespace vfiosim::iommu
