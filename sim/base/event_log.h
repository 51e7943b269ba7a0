// Notable events of a run (an IOMMU fault, a dropped request): what happened, where and when, for
// the report's `events` list. Models append in simulation order; the report sorts them by time
// (stable), so the list is deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfiosim {

class EventLog {
 public:
  struct Event {
    uint64_t ps;
    std::string source;  // stats path of the component ("system.iommu")
    std::string type;    // "dmar_fault", ...
    nlohmann::json details;
  };

  void add(uint64_t ps, std::string source, std::string type, nlohmann::json details) {
    events_.push_back({ps, std::move(source), std::move(type), std::move(details)});
  }
  const std::vector<Event>& events() const { return events_; }
  size_t size() const { return events_.size(); }
  /// Sorted by time; each event as {time_ns, source, type, ...details}. At most `limit` events;
  /// the caller reports how many were left out.
  nlohmann::json to_json(size_t limit) const;

 private:
  std::vector<Event> events_;
};

}  // namespace vfiosim
