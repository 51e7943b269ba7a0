// A set-associative cache of translation-structure entries, shared by the IOMMU's context cache,
// IOTLB and paging-structure caches. Entries are tagged by an exact 64-bit key and a domain id;
// each carries the picosecond from which it is usable (`ready_ps`): a walk that will finish in the
// future fills its entry at once, and a request that finds the entry still pending waits for it —
// that is how misses to one page merge. Replacement is a swappable policy. Zero entries disable
// the cache (every lookup misses).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/iommu/replacement.h"

namespace vfiosim::iommu {

struct CacheGeometry {
  uint32_t entries = 0;
  uint32_t ways = 1;  // entries / ways sets; ways == entries: fully associative
  std::string replacement = "lru";
};

template <typename V>
class SetAssocCache {
 public:
  struct Entry {
    bool valid = false;
    uint64_t key = 0;
    uint16_t did = 0;
    uint64_t ready_ps = 0;
    V value{};
  };

  SetAssocCache(const CacheGeometry& g, Rng rng)
      : ways_(g.entries ? g.ways : 1), sets_(g.entries ? g.entries / g.ways : 0),
        entries_(static_cast<size_t>(sets_) * ways_),
        policy_(sets_ ? make_policy(g.replacement, sets_, ways_, rng) : nullptr) {}

  bool enabled() const { return sets_ != 0; }
  uint32_t sets() const { return sets_; }
  uint32_t ways() const { return ways_; }

  /// The entry for `key` in set `index % sets`, or nullptr. A hit updates the replacement state.
  Entry* lookup(uint64_t key, uint64_t index) {
    if (!sets_) return nullptr;
    const uint32_t set = static_cast<uint32_t>(index % sets_);
    for (uint32_t w = 0; w < ways_; ++w) {
      Entry& e = at(set, w);
      if (e.valid && e.key == key) {
        policy_->touch(set, w);
        return &e;
      }
    }
    return nullptr;
  }

  /// Fills `key` (replacing an entry with the same key, else an invalid way, else the policy's
  /// victim). Returns whether a valid entry was evicted.
  bool insert(uint64_t key, uint64_t index, uint16_t did, const V& value, uint64_t ready_ps) {
    if (!sets_) return false;
    const uint32_t set = static_cast<uint32_t>(index % sets_);
    uint32_t way = ways_;
    bool replaced = false;  // same key: overwritten in place, the valid count does not change
    for (uint32_t w = 0; w < ways_ && way == ways_; ++w)
      if (at(set, w).valid && at(set, w).key == key) {
        way = w;
        replaced = true;
      }
    for (uint32_t w = 0; w < ways_ && way == ways_; ++w)
      if (!at(set, w).valid) way = w;
    bool evicted = false;
    if (way == ways_) {
      way = policy_->victim(set);
      evicted = true;
    }
    Entry& e = at(set, way);
    e = Entry{true, key, did, ready_ps, value};
    policy_->filled(set, way);
    if (!evicted && !replaced) ++valid_;
    return evicted;
  }

  /// Drops every valid entry for which `pred(entry)` holds; returns how many.
  template <typename Pred>
  size_t invalidate_if(Pred pred) {
    size_t n = 0;
    for (auto& e : entries_)
      if (e.valid && pred(e)) {
        e.valid = false;
        ++n;
      }
    valid_ -= n;
    return n;
  }
  size_t invalidate_all() {
    return invalidate_if([](const Entry&) { return true; });
  }
  size_t valid() const { return valid_; }

 private:
  Entry& at(uint32_t set, uint32_t way) { return entries_[static_cast<size_t>(set) * ways_ + way]; }

  uint32_t ways_;
  uint32_t sets_;
  std::vector<Entry> entries_;
  std::unique_ptr<ReplacementPolicy> policy_;
  size_t valid_ = 0;
};

}  // namespace vfiosim::iommu
