#include "models/memory/memory_params.h"

namespace vfiosim {

std::shared_ptr<const config::ObjectSpec> MemoryParams::spec() {
  using config::Field;
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("memory", "Simulated host DRAM behind one shared data bus");
    s->add(Field::size("size").with_unit("bytes").describe("Size of the physical address space, starting at 0")
               .defaults(kDefaultSize).at_least(4096).at_most(static_cast<double>(1ULL << 57)));
    s->add(Field::integer("clock_mhz").with_unit("MHz").describe("Memory controller clock")
               .defaults(kDefaultClockMhz).at_least(1).at_most(100000));
    s->add(Field::integer("latency_cycles").with_unit("cycles")
               .describe("Access latency from the start of service to the response")
               .defaults(kDefaultLatencyCycles).at_least(1).at_most(1000000));
    s->add(Field::integer("bytes_per_cycle").with_unit("bytes/cycle")
               .describe("Data bus width: bytes transferred per memory clock cycle")
               .defaults(kDefaultBytesPerCycle).at_least(1).at_most(4096).pow2());
    s->check([](const config::json& r, const std::string& ptr, config::Issues& issues) {
      if (r["size"].get<uint64_t>() % 4096 != 0)
        issues.add(ptr + "/size", "expected a multiple of 4 KiB, got " + r["size"].dump());
    });
    return s;
  }();
  return spec;
}

MemoryParams MemoryParams::from(const config::json& r) {
  MemoryParams p;
  p.size = r.at("size").get<uint64_t>();
  p.clock_mhz = r.at("clock_mhz").get<uint64_t>();
  p.latency_cycles = r.at("latency_cycles").get<uint64_t>();
  p.bytes_per_cycle = r.at("bytes_per_cycle").get<uint64_t>();
  return p;
}

}  // namespace vfiosim
