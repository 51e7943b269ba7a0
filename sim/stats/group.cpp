#include "sim/stats/group.h"

#include <stdexcept>

namespace vfiosim::stats {

std::string Group::path() const { return parent_ ? parent_->path() + "." + name_ : name_; }

Group& Group::child(const std::string& name) {
  for (auto& c : children_)
    if (c->name_ == name) return *c;
  // Stats and child groups share one key space in to_json(); a clash would drop the stat.
  if (find(name)) throw std::logic_error("stats group '" + path() + "." + name + "' clashes with a stat");
  children_.push_back(std::make_unique<Group>(name, this));
  return *children_.back();
}

const Group* Group::find_child(const std::string& name) const {
  for (const auto& c : children_)
    if (c->name_ == name) return c.get();
  return nullptr;
}

template <typename T, typename... A>
T& Group::add(const std::string& name, A&&... args) {
  if (find(name) || find_child(name)) throw std::logic_error("stat '" + path() + "." + name + "' registered twice");
  auto stat = std::make_unique<T>(name, std::forward<A>(args)...);
  T& ref = *stat;
  stats_.push_back(std::move(stat));
  return ref;
}

Counter& Group::counter(const std::string& name, const std::string& unit, const std::string& desc) {
  return add<Counter>(name, unit, desc);
}
Gauge& Group::gauge(const std::string& name, const std::string& unit, const std::string& desc) {
  return add<Gauge>(name, unit, desc);
}
Average& Group::average(const std::string& name, const std::string& unit, const std::string& desc) {
  return add<Average>(name, unit, desc);
}
Histogram& Group::histogram(const std::string& name, const std::string& unit, const std::string& desc,
                            double scale) {
  return add<Histogram>(name, unit, desc, scale);
}

const Stat* Group::find(const std::string& name) const {
  for (const auto& s : stats_)
    if (s->name() == name) return s.get();
  return nullptr;
}

const Stat* Group::lookup(const std::string& dotted) const {
  const auto dot = dotted.find('.');
  if (dot == std::string::npos) return find(dotted);
  const Group* c = find_child(dotted.substr(0, dot));
  return c ? c->lookup(dotted.substr(dot + 1)) : nullptr;
}

nlohmann::json Group::to_json() const {
  // nlohmann's default object sorts keys, which keeps the dump deterministic.
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : stats_) j[s->name()] = s->to_json();
  for (const auto& c : children_) j[c->name_] = c->to_json();
  return j;
}

void Group::write_text(std::ostream& out) const {
  const std::string base = path();
  for (const auto& s : stats_) s->write_text(out, base + "." + s->name());
  for (const auto& c : children_) c->write_text(out);
}

void Group::reset() {
  for (auto& s : stats_) s->reset();
  for (auto& c : children_) c->reset();
}

}  // namespace vfiosim::stats
