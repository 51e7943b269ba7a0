#include "models/iommu/replacement.h"

#include <stdexcept>

namespace vfiosim::iommu {

namespace {

// Exact LRU: a per-entry timestamp of the last use; the victim is the oldest in the set.
class Lru : public ReplacementPolicy {
 public:
  Lru(uint32_t sets, uint32_t ways) : ways_(ways), stamp_(static_cast<size_t>(sets) * ways, 0) {}
  void touch(uint32_t set, uint32_t way) override { stamp_[idx(set, way)] = ++clock_; }
  void filled(uint32_t set, uint32_t way) override { touch(set, way); }
  uint32_t victim(uint32_t set) override {
    uint32_t best = 0;
    for (uint32_t w = 1; w < ways_; ++w)
      if (stamp_[idx(set, w)] < stamp_[idx(set, best)]) best = w;
    return best;
  }

 private:
  size_t idx(uint32_t set, uint32_t way) const { return static_cast<size_t>(set) * ways_ + way; }
  uint32_t ways_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> stamp_;
};

// FIFO: the victim is the oldest fill, hits do not matter.
class Fifo : public ReplacementPolicy {
 public:
  Fifo(uint32_t sets, uint32_t ways) : ways_(ways), stamp_(static_cast<size_t>(sets) * ways, 0) {}
  void touch(uint32_t, uint32_t) override {}
  void filled(uint32_t set, uint32_t way) override { stamp_[static_cast<size_t>(set) * ways_ + way] = ++clock_; }
  uint32_t victim(uint32_t set) override {
    uint32_t best = 0;
    for (uint32_t w = 1; w < ways_; ++w)
      if (stamp_[static_cast<size_t>(set) * ways_ + w] < stamp_[static_cast<size_t>(set) * ways_ + best]) best = w;
    return best;
  }

 private:
  uint32_t ways_;
  uint64_t clock_ = 0;
  std::vector<uint64_t> stamp_;
};

class Random : public ReplacementPolicy {
 public:
  Random(uint32_t ways, Rng rng) : ways_(ways), rng_(rng) {}
  void touch(uint32_t, uint32_t) override {}
  void filled(uint32_t, uint32_t) override {}
  uint32_t victim(uint32_t) override { return static_cast<uint32_t>(rng_.below(ways_)); }

 private:
  uint32_t ways_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_policy(const std::string& name, uint32_t sets, uint32_t ways, Rng rng) {
  if (name == "lru") return std::make_unique<Lru>(sets, ways);
  if (name == "fifo") return std::make_unique<Fifo>(sets, ways);
  if (name == "random") return std::make_unique<Random>(ways, rng);
  throw std::invalid_argument("unknown replacement policy \"" + name + "\"");
}

}  // namespace vfiosim::iommu
