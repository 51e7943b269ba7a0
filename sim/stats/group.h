// The stats tree. Groups follow the SystemC module hierarchy ("system" -> "memory"): a module
// asks its parent's group for a child named after itself and registers its stats there. Order of
// registration is kept, so dumps are deterministic.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sim/stats/histogram.h"
#include "sim/stats/stats.h"

namespace vfiosim::stats {

class Group {
 public:
  explicit Group(std::string name, Group* parent = nullptr) : name_(std::move(name)), parent_(parent) {}
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& name() const { return name_; }
  /// Dotted path from the root ("system.memory").
  std::string path() const;

  /// The child group with this name, created on first use.
  Group& child(const std::string& name);
  const Group* find_child(const std::string& name) const;

  Counter& counter(const std::string& name, const std::string& unit, const std::string& desc);
  Gauge& gauge(const std::string& name, const std::string& unit, const std::string& desc);
  Average& average(const std::string& name, const std::string& unit, const std::string& desc);
  Histogram& histogram(const std::string& name, const std::string& unit, const std::string& desc,
                       double scale = 1.0);

  const Stat* find(const std::string& name) const;
  /// Looks a stat up by dotted path relative to this group ("memory.bytes_read").
  const Stat* lookup(const std::string& dotted) const;

  nlohmann::json to_json() const;
  void write_text(std::ostream& out) const;
  void reset();

 private:
  template <typename T, typename... A>
  T& add(const std::string& name, A&&... args);

  std::string name_;
  Group* parent_;
  std::vector<std::unique_ptr<Stat>> stats_;
  std::vector<std::unique_ptr<Group>> children_;
};

}  // namespace vfiosim::stats
