#include "sim/stats/stats.h"

#include <cmath>
#include <cstdio>

#include "sim/base/units.h"

namespace vfiosim::stats {

std::string text_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = format_fixed(v, 6);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

nlohmann::json Stat::meta() const { return {{"unit", unit_}, {"desc", desc_}}; }

namespace {
void line(std::ostream& out, const std::string& path, const std::string& value, const Stat& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-56s %16s", path.c_str(), value.c_str());
  out << buf << "  # " << s.desc() << " (" << s.unit() << ")\n";
}
}  // namespace

nlohmann::json Counter::to_json() const {
  auto j = meta();
  j["value"] = value_;
  return j;
}
void Counter::write_text(std::ostream& out, const std::string& path) const {
  line(out, path, std::to_string(value_), *this);
}

nlohmann::json Gauge::to_json() const {
  auto j = meta();
  j["value"] = round_to(value_, 6);
  return j;
}
void Gauge::write_text(std::ostream& out, const std::string& path) const {
  line(out, path, text_number(round_to(value_, 6)), *this);
}

nlohmann::json Average::to_json() const {
  auto j = meta();
  j["mean"] = round_to(mean(), 6);
  j["samples"] = count_;
  return j;
}
void Average::write_text(std::ostream& out, const std::string& path) const {
  line(out, path, text_number(round_to(mean(), 6)), *this);
}

}  // namespace vfiosim::stats
