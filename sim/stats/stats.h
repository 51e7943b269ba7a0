// Statistics that describe themselves: every stat has a name, a unit and a one-line
// description, and renders itself both as JSON (report.json) and as a text line (stats.txt).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace vfiosim::stats {

class Stat {
 public:
  Stat(std::string name, std::string unit, std::string desc)
      : name_(std::move(name)), unit_(std::move(unit)), desc_(std::move(desc)) {}
  virtual ~Stat() = default;
  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;

  const std::string& name() const { return name_; }
  const std::string& unit() const { return unit_; }
  const std::string& desc() const { return desc_; }

  virtual nlohmann::json to_json() const = 0;
  /// One or more lines "path value # desc (unit)" in the gem5 stats.txt style.
  virtual void write_text(std::ostream& out, const std::string& path) const = 0;
  virtual void reset() = 0;

 protected:
  nlohmann::json meta() const;

 private:
  std::string name_;
  std::string unit_;
  std::string desc_;
};

/// A monotonically increasing event or byte count.
class Counter : public Stat {
 public:
  using Stat::Stat;
  Counter& operator+=(uint64_t n) { value_ += n; return *this; }
  Counter& operator++() { ++value_; return *this; }
  uint64_t value() const { return value_; }
  nlohmann::json to_json() const override;
  void write_text(std::ostream& out, const std::string& path) const override;
  void reset() override { value_ = 0; }

 private:
  uint64_t value_ = 0;
};

/// A value set by its owner (a level, a high-water mark, a derived rate).
class Gauge : public Stat {
 public:
  using Stat::Stat;
  void set(double v) { value_ = v; }
  void max_with(double v) { if (v > value_) value_ = v; }
  double value() const { return value_; }
  nlohmann::json to_json() const override;
  void write_text(std::ostream& out, const std::string& path) const override;
  void reset() override { value_ = 0; }

 private:
  double value_ = 0;
};

/// Mean of samples.
class Average : public Stat {
 public:
  using Stat::Stat;
  void sample(double v) { sum_ += v; ++count_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  uint64_t count() const { return count_; }
  nlohmann::json to_json() const override;
  void write_text(std::ostream& out, const std::string& path) const override;
  void reset() override { sum_ = 0; count_ = 0; }

 private:
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// Renders a double the same way on every platform (fixed decimals, trailing zeros trimmed).
std::string text_number(double v);

}  // namespace vfiosim::stats
