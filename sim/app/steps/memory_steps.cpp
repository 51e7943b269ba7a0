// ops "memory_fill" and "memory_check": testbench access to host memory through the model's
// backdoor. They take no simulated time (a testbench, not a CPU): use them to preload data that a
// DMA workload reads, or to check what a DMA workload wrote.
#include <vector>

#include "sim/app/platform.h"
#include "sim/app/steps/step.h"

namespace vfiosim {

namespace {

struct Region {
  uint64_t address;
  uint64_t size;
  uint64_t seed;
};

class MemoryFillStep : public Step {
 public:
  explicit MemoryFillStep(Region r) : r_(r) {}
  void run(StepContext& ctx) override {
    std::vector<uint8_t> buf(64 * 1024);
    for (uint64_t off = 0; off < r_.size; off += buf.size()) {
      const uint64_t n = std::min<uint64_t>(buf.size(), r_.size - off);
      fill_pattern(r_.address + off, r_.seed, buf.data(), n);
      ctx.platform.memory().backdoor_write(r_.address + off, buf.data(), n);
    }
    ctx.outputs = {{"bytes", r_.size}};
  }

 private:
  Region r_;
};

class MemoryCheckStep : public Step {
 public:
  explicit MemoryCheckStep(Region r) : r_(r) {}
  void run(StepContext& ctx) override {
    std::vector<uint8_t> buf(64 * 1024);
    uint64_t bad = 0;
    for (uint64_t off = 0; off < r_.size; off += buf.size()) {
      const uint64_t n = std::min<uint64_t>(buf.size(), r_.size - off);
      ctx.platform.memory().backdoor_read(r_.address + off, buf.data(), n);
      bad += count_mismatches(r_.address + off, r_.seed, buf.data(), n);
    }
    ctx.outputs = {{"bytes", r_.size}, {"data_mismatches", bad}};
  }

 private:
  Region r_;
};

std::vector<config::Field> region_fields() {
  using config::Field;
  return {Field::size("address").with_unit("bytes").require().describe("Physical start address"),
          Field::size("size").with_unit("bytes").require().describe("Bytes").at_least(1),
          Field::integer("data_seed").describe("Selects the data pattern").defaults(0).at_least(0)};
}

std::unique_ptr<Region> prepare_region(const nlohmann::json& s, const std::string& ptr, const PlatformConfig& p,
                                       config::Issues& issues) {
  Region r{s["address"].get<uint64_t>(), s["size"].get<uint64_t>(), s["data_seed"].get<uint64_t>()};
  if (r.size > p.memory.size || r.address > p.memory.size - r.size) {
    issues.add(ptr, "region [" + std::to_string(r.address) + ", +" + std::to_string(r.size) +
                        ") is outside memory (/platform/memory/size = " + std::to_string(p.memory.size) + ")");
    return nullptr;
  }
  return std::make_unique<Region>(r);
}

}  // namespace

StepType memory_fill_step_type() {
  StepType t;
  t.op = "memory_fill";
  t.needs_kernel = false;
  t.desc = "Testbench: write the data pattern into memory (backdoor, no simulated time)";
  t.fields = region_fields();
  t.outputs = {config::Field::integer("bytes").with_unit("bytes").describe("Bytes written")};
  t.prepare = [](const nlohmann::json& s, const std::string& ptr, const PlatformConfig& p,
                 config::Issues& issues) -> std::unique_ptr<Step> {
    auto r = prepare_region(s, ptr, p, issues);
    return r ? std::make_unique<MemoryFillStep>(*r) : nullptr;
  };
  return t;
}

StepType memory_check_step_type() {
  StepType t;
  t.op = "memory_check";
  t.needs_kernel = false;
  t.desc = "Testbench: compare memory with the data pattern (backdoor, no simulated time)";
  t.fields = region_fields();
  t.outputs = {config::Field::integer("bytes").with_unit("bytes").describe("Bytes compared"),
               config::Field::integer("data_mismatches").with_unit("bytes").describe("Bytes that differ")};
  t.prepare = [](const nlohmann::json& s, const std::string& ptr, const PlatformConfig& p,
                 config::Issues& issues) -> std::unique_ptr<Step> {
    auto r = prepare_region(s, ptr, p, issues);
    return r ? std::make_unique<MemoryCheckStep>(*r) : nullptr;
  };
  return t;
}

}  // namespace vfiosim
