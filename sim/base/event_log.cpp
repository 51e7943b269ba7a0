#include "sim/base/event_log.h"

#include <algorithm>

namespace vfiosim {

nlohmann::json EventLog::to_json(size_t limit) const {
  std::vector<const Event*> order;
  order.reserve(events_.size());
  for (const auto& e : events_) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Event* a, const Event* b) { return a->ps < b->ps; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < order.size() && i < limit; ++i) {
    nlohmann::json j = order[i]->details.is_object() ? order[i]->details : nlohmann::json::object();
    j["time_ns"] = static_cast<double>(order[i]->ps) / 1000.0;
    j["source"] = order[i]->source;
    j["type"] = order[i]->type;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace vfiosim
