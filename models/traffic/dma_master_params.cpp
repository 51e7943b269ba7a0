#include "models/traffic/dma_master_params.h"

#include <algorithm>
#include <cctype>

namespace vfiosim {

std::shared_ptr<const config::ObjectSpec> DmaMasterParams::spec() {
  using config::Field;
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>(
        "dma_master", "A host-side DMA master that issues reads and writes straight to memory");
    s->add(Field::string("name").require().describe("Instance name; steps refer to the master by it"));
    s->add(Field::integer("clock_mhz").with_unit("MHz").describe("Clock of the request issue logic")
               .defaults(kDefaultClockMhz).at_least(1).at_most(100000));
    s->add(Field::integer("issue_cycles").with_unit("cycles")
               .describe("Cycles between two request issues").defaults(kDefaultIssueCycles).at_least(1).at_most(1000000));
    s->add(Field::integer("max_outstanding").with_unit("requests")
               .describe("Hardware limit on requests in flight (tags)").defaults(kDefaultMaxOutstanding)
               .at_least(1).at_most(65536));
    s->check([](const config::json& r, const std::string& ptr, config::Issues& issues) {
      const auto name = r["name"].get<std::string>();
      const bool ok = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                      std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                      });
      if (!ok) issues.add(ptr + "/name", "expected an identifier (letters, digits, _), got \"" + name + "\"");
    });
    return s;
  }();
  return spec;
}

DmaMasterParams DmaMasterParams::from(const config::json& r) {
  DmaMasterParams p;
  p.name = r.at("name").get<std::string>();
  p.clock_mhz = r.at("clock_mhz").get<uint64_t>();
  p.issue_cycles = r.at("issue_cycles").get<uint64_t>();
  p.max_outstanding = r.at("max_outstanding").get<uint64_t>();
  return p;
}

}  // namespace vfiosim
