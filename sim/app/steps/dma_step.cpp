// op "dma": a DMA workload, on a host-side DMA master or on a PCIe DMA engine programmed through its
// BAR, and its bandwidth and latency.
#include "sim/app/platform.h"
#include "sim/app/steps/dma_engine_driver.h"
#include "sim/app/steps/step.h"

namespace vfiosim {

namespace {

constexpr uint64_t kMaxStepBytes = 1ULL << 38;  // payload one dma step may move

class DmaStep : public Step {
 public:
  DmaStep(std::string master, std::string device, Workload w, DmaMapping map)
      : master_(std::move(master)), device_(std::move(device)), work_(w), map_(map) {}

  void run(StepContext& ctx) override {
    nlohmann::json row = {{"step", ctx.step_name}, {"workload", "dma"}};
    if (!device_.empty()) {
      auto counter = [&](const char* name) -> uint64_t {  // summed over the remapping units
        uint64_t sum = 0;
        for (const auto& unit : ctx.platform.iommus())
          sum += static_cast<const stats::Counter*>(unit->stats().find(name))->value();
        return sum;
      };
      const uint64_t hit0 = counter("iotlb_hit"), miss0 = counter("iotlb_miss");
      const EngineRun job = run_engine_job(*ctx.platform.pci(), device_, work_, map_);
      ctx.outputs = job.summary.to_json();
      ctx.outputs["dma_address"] = job.dma_address;
      row["device"] = device_;
      row["mps"] = job.mps;
      row["mrrs"] = job.mrrs;
      if (job.mapped) {
        row["page_size_bytes"] = job.page_size;
        row["dma_address"] = job.dma_address;
      }
      if (ctx.platform.iommu()) {
        const uint64_t hits = counter("iotlb_hit") - hit0, misses = counter("iotlb_miss") - miss0;
        row["iotlb_hit_rate"] = hits + misses ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 1.0;
        row["iotlb_misses"] = misses;
      }
    } else {
      ctx.outputs = ctx.platform.master(master_)->run(work_).to_json();
      row["master"] = master_;
    }
    row.update({
                {"direction", to_string(work_.direction)},
                {"pattern", to_string(work_.pattern)},
                {"size_bytes", work_.size},
                {"count", work_.count},
                {"outstanding", work_.outstanding},
                {"window_bytes", work_.window}});
    row.update(ctx.outputs);
    ctx.results->push_back(std::move(row));
  }

 private:
  std::string master_;
  std::string device_;
  Workload work_;
  DmaMapping map_;
};

}  // namespace

StepType dma_step_type() {
  using config::Field;
  StepType t;
  t.op = "dma";
  t.needs_kernel = false;
  t.desc = "Run a DMA workload on a host DMA master or a PCIe DMA engine; measure bandwidth and latency";
  t.fields = {
      Field::string("master").describe("Name of a host-side DMA master (platform.dma_masters[].name)"),
      Field::string("device").describe("BDF of a PCIe DMA engine (\"01:00.0\"); the step drives it through its BAR"),
      Field::enumeration("direction", {"read", "write"}).require().describe("Read from or write to memory"),
      Field::size("size").with_unit("bytes").require().describe("Bytes per request").at_least(1).at_most(1 << 20),
      Field::integer("count").with_unit("requests").require().describe("Number of requests").at_least(1)
          .at_most(1e12),
      Field::integer("outstanding").with_unit("requests").describe("Requests in flight at most").defaults(1)
          .at_least(1).at_most(65536),
      Field::enumeration("pattern", {"sequential", "random"}).defaults("sequential")
          .describe("Address order: sequential slots wrapping in the window, or uniform random slots"),
      Field::size("address").with_unit("bytes").require().describe("Physical base address of the window"),
      Field::size("window").with_unit("bytes").describe("Bytes the addresses stay within (default stride x count)"),
      Field::size("stride").with_unit("bytes").describe("Bytes between request slots (default size); e.g. 4096 "
                                                       "starts every request on a page").at_least(1),
      Field::integer("data_seed").describe("Selects the data pattern written, or expected by verify").defaults(0)
          .at_least(0),
      Field::boolean("verify").describe("Reads: compare the data read with the pattern").defaults(false),
      Field::boolean("dma_map").describe("DMA engines behind an IOMMU: map the window through the DMA API first and "
                                         "program the IOVA (false: the device uses `address` unmapped, which faults)")
          .defaults(true),
      Field::size("map_granule").with_unit("bytes")
          .describe("The driver maps the window in whole, aligned granules of this size; 2MiB or 1GiB let the IOMMU "
                    "driver use superpages").defaults(4096).at_least(4096).at_most(static_cast<double>(1ULL << 30))
          .pow2(),
  };
  t.outputs = {
      Field::integer("requests").with_unit("requests").describe("Requests completed"),
      Field::integer("bytes").with_unit("bytes").describe("Payload bytes moved by successful requests"),
      Field::integer("errors").with_unit("requests").describe("Requests completed with an error response"),
      Field::integer("data_mismatches").with_unit("bytes").describe("Bytes that failed verification"),
      Field::number("duration_ns").with_unit("ns").describe("First issue to last completion"),
      Field::number("bandwidth_gbps").with_unit("Gb/s").describe("Payload bandwidth over the duration"),
      Field::number("latency_ns_mean").with_unit("ns").describe("Mean request latency"),
      Field::number("latency_ns_min").with_unit("ns").describe("Minimum request latency"),
      Field::number("latency_ns_p50").with_unit("ns").describe("Median request latency"),
      Field::number("latency_ns_p90").with_unit("ns").describe("90th percentile request latency"),
      Field::number("latency_ns_p99").with_unit("ns").describe("99th percentile request latency"),
      Field::number("latency_ns_max").with_unit("ns").describe("Maximum request latency"),
      Field::integer("dma_address").with_unit("bytes").describe("Base address the device was programmed with (an "
                                                                 "IOVA behind an IOMMU)"),
  };
  t.prepare = [](const nlohmann::json& s, const std::string& ptr, const PlatformConfig& platform,
                 config::Issues& issues) -> std::unique_ptr<Step> {
    if (s.contains("master") == s.contains("device")) {
      issues.add(ptr, "expected exactly one of \"master\" (a host DMA master) or \"device\" (a PCIe DMA engine)");
      return nullptr;
    }
    const auto name = s.contains("master") ? s["master"].get<std::string>() : std::string();
    std::string device;
    uint64_t max_outstanding = 0;
    std::string what;
    if (!name.empty()) {
      const DmaMasterParams* m = platform.find_master(name);
      if (!m) {
        std::string msg = "no DMA master named \"" + name + "\"";
        const auto hint = config::did_you_mean(name, platform.master_names());
        if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
        else if (platform.dma_masters.empty()) msg += "; /platform/dma_masters is empty";
        issues.add(ptr + "/master", msg);
        return nullptr;
      }
      max_outstanding = m->max_outstanding;
      what = "master \"" + name + "\"";
    } else {
      const auto written = s["device"].get<std::string>();
      const PciEndpointConfig* e = platform.pci ? platform.pci->find_endpoint(written) : nullptr;
      if (!e) {
        issues.add(ptr + "/device", "no DMA engine at \"" + written + "\"" +
                                        (platform.pci ? "" : "; the platform has no /platform/pci"));
        return nullptr;
      }
      device = Bdf::parse(written)->str();  // the endpoint, or one of its VFs
      max_outstanding = e->engine.tags;
      what = "device " + device;
    }
    Workload w;
    w.direction = s["direction"] == "read" ? DmaDirection::Read : DmaDirection::Write;
    w.pattern = s["pattern"] == "random" ? AddressPattern::Random : AddressPattern::Sequential;
    w.size = s["size"].get<uint64_t>();
    w.count = s["count"].get<uint64_t>();
    // Work no run finishes: the simulator moves on the order of 10^9 bytes of payload per wall
    // second, so a step beyond kMaxStepBytes would take an hour or more (split it, or sweep).
    if (static_cast<uint128_t>(w.size) * w.count > kMaxStepBytes)
      issues.add(ptr + "/count", std::to_string(w.count) + " requests of " + std::to_string(w.size) +
                                     " bytes are more than one step may move (256 GiB): no run would finish them");
    w.outstanding = s["outstanding"].get<uint64_t>();
    w.address = s["address"].get<uint64_t>();
    w.data_seed = s["data_seed"].get<uint64_t>();
    w.verify = s["verify"].get<bool>();
    w.stride = s.contains("stride") ? s["stride"].get<uint64_t>() : 0;
    const uint128_t span = static_cast<uint128_t>(w.slot_stride()) * w.count;
    w.window = s.contains("window") ? s["window"].get<uint64_t>()
                                    : static_cast<uint64_t>(std::min<uint128_t>(span, ~0ULL));
    if (w.window < w.size)
      issues.add(ptr + "/window", "window (" + std::to_string(w.window) + " bytes) is smaller than one request (" +
                                      std::to_string(w.size) + " bytes)");
    if (w.outstanding > max_outstanding)
      issues.add(ptr + "/outstanding", what + " allows at most " + std::to_string(max_outstanding) +
                                           " requests in flight, got " + std::to_string(w.outstanding));
    if (!device.empty() && w.stride > 0xFFFFFFFFu)
      issues.add(ptr + "/stride", "the DMA engine's STRIDE register is 32 bits wide");
    if (!device.empty() && w.size > 0xFFFFFFFFu) issues.add(ptr + "/size", "too large for the SIZE register");
    if (w.verify && w.direction == DmaDirection::Write)
      issues.add(ptr + "/verify", "verify applies to reads only");
    DmaMapping map;
    map.enabled = s["dma_map"].get<bool>();
    map.granule = s["map_granule"].get<uint64_t>();
    if (!name.empty() && s.contains("map_granule") && s["map_granule"] != 4096)
      issues.add(ptr + "/map_granule", "applies to PCIe DMA engines only");
    return std::make_unique<DmaStep>(name, device, w, map);
  };
  return t;
}

}  // namespace vfiosim
