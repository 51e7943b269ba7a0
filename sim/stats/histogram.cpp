#include "sim/stats/histogram.h"

#include <algorithm>

#include <cmath>

#include "sim/base/units.h"

namespace vfiosim::stats {

void Distribution::sample(uint64_t v, uint64_t times) {
  if (!times) return;
  counts_[v] += times;
  sorted_valid_ = false;
  count_ += times;
  sum_ += static_cast<uint128_t>(v) * times;
}

const std::vector<std::pair<uint64_t, uint64_t>>& Distribution::sorted() const {
  if (!sorted_valid_) {
    sorted_.assign(counts_.begin(), counts_.end());
    std::sort(sorted_.begin(), sorted_.end());
    sorted_valid_ = true;
  }
  return sorted_;
}

void Distribution::merge(const Distribution& other) {
  for (const auto& [v, n] : other.sorted()) sample(v, n);
}

void Distribution::clear() {
  counts_.clear();
  sorted_.clear();
  sorted_valid_ = true;
  count_ = 0;
  sum_ = 0;
}

uint64_t Distribution::percentile(double p) const {
  if (!count_) return 0;
  if (p <= 0) return min();
  const double exact = p / 100.0 * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (const auto& [v, n] : sorted()) {
    seen += n;
    if (seen >= rank) return v;
  }
  return max();
}

nlohmann::json Histogram::summary(const Distribution& d, double scale) {
  auto s = [&](uint64_t v) { return round_to(static_cast<double>(v) * scale, 6); };
  return {{"count", d.count()},         {"mean", round_to(d.mean() * scale, 6)}, {"min", s(d.min())},
          {"p50", s(d.percentile(50))}, {"p90", s(d.percentile(90))},          {"p99", s(d.percentile(99))},
          {"max", s(d.max())}};
}

nlohmann::json Histogram::to_json() const {
  auto j = meta();
  j.update(summary(dist_, scale_));
  return j;
}

void Histogram::write_text(std::ostream& out, const std::string& path) const {
  const auto j = summary(dist_, scale_);
  for (const char* key : {"count", "mean", "p50", "p90", "p99", "max"}) {
    char buf[160];
    const std::string value = text_number(j[key].get<double>());
    std::snprintf(buf, sizeof buf, "%-56s %16s", (path + "::" + key).c_str(), value.c_str());
    out << buf << "  # " << desc() << " (" << (std::string(key) == "count" ? "samples" : unit()) << ")\n";
  }
}

}  // namespace vfiosim::stats
