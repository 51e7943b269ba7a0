// Distribution of integer samples (latencies in picoseconds, sizes in bytes) with exact
// nearest-rank percentiles. Samples in a cycle-accurate model are quantised to clock cycles, so
// the set of distinct values stays small and an exact value -> count map is both exact and cheap.
// `scale` turns stored integers into the reported unit (1e-3 reports picoseconds as ns).
#pragma once

#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/base/int128.h"
#include "sim/stats/stats.h"

namespace vfiosim::stats {

class Distribution {
 public:
  void sample(uint64_t v, uint64_t times = 1);
  void merge(const Distribution& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? sorted().front().first : 0; }
  uint64_t max() const { return count_ ? sorted().back().first : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  /// Nearest-rank percentile, p in (0, 100]: the smallest value with at least p% of samples <= it.
  uint64_t percentile(double p) const;
  size_t distinct() const { return counts_.size(); }
  /// (value, count) in ascending value order.
  const std::vector<std::pair<uint64_t, uint64_t>>& sorted() const;

 private:
  // Counts by value in a hash map (a sample is one probe); the ordered view that percentiles
  // need is built when asked for and kept until the next sample.
  std::unordered_map<uint64_t, uint64_t> counts_;
  mutable std::vector<std::pair<uint64_t, uint64_t>> sorted_;
  mutable bool sorted_valid_ = true;
  uint64_t count_ = 0;
  uint128_t sum_ = 0;
};

class Histogram : public Stat {
 public:
  Histogram(std::string name, std::string unit, std::string desc, double scale = 1.0)
      : Stat(std::move(name), std::move(unit), std::move(desc)), scale_(scale) {}

  void sample(uint64_t v) { dist_.sample(v); }
  const Distribution& dist() const { return dist_; }
  Distribution& dist() { return dist_; }
  double scale() const { return scale_; }

  nlohmann::json to_json() const override;
  void write_text(std::ostream& out, const std::string& path) const override;
  void reset() override { dist_.clear(); }

  /// {count, mean, min, p50, p90, p99, max} of a distribution, in the scaled unit.
  static nlohmann::json summary(const Distribution& d, double scale);

 private:
  Distribution dist_;
  double scale_;
};

}  // namespace vfiosim::stats
