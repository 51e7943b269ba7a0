#include "sim/app/platform_config.h"

#include <set>

namespace vfiosim {

std::shared_ptr<const config::ObjectSpec> PlatformConfig::spec() {
  using config::Field;
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("platform", "The simulated machine");
    s->add(Field::object_of("memory", MemoryParams::spec()).describe("Host memory").defaults(config::json::object()));
    s->add(Field::array_of("dma_masters", Field::object_of("", DmaMasterParams::spec()))
               .describe("Host-side DMA masters (traffic generators) attached to memory")
               .defaults(config::json::array()).items(0, 64));
    s->add(Field::object_of("pci", PciConfig::spec()).describe("The PCI Express hierarchy (absent: none)"));
    s->add(Field::object_of("iommu", iommu::VtdParams::spec())
               .describe("A VT-d IOMMU between the root complex and memory (absent: none; needs pci)"));
    s->add(Field::object_of("kernel", KernelConfig::spec()).defaults(config::json::object())
               .describe("The simulated Linux kernel: CPU cost model, reserved memory, IOMMU options"));
    s->check([](const config::json& r, const std::string& ptr, config::Issues& issues) {
      if (r.contains("iommu") && !r.contains("pci"))
        issues.add(ptr + "/iommu", "an IOMMU needs a PCI hierarchy (platform.pci) to translate for");
      if (r["kernel"]["memory"].get<uint64_t>() >= r["memory"]["size"].get<uint64_t>())
        issues.add(ptr + "/kernel/memory", "expected less than the memory size (" + r["memory"]["size"].dump() + ")");
      std::set<std::string> seen;
      const auto& masters = r["dma_masters"];
      for (size_t i = 0; i < masters.size(); ++i) {
        const auto name = masters[i]["name"].get<std::string>();
        if (name == "memory")
          issues.add(ptr + "/dma_masters/" + std::to_string(i) + "/name", "\"memory\" is taken by the memory model");
        if (!seen.insert(name).second)
          issues.add(ptr + "/dma_masters/" + std::to_string(i) + "/name", "duplicate DMA master name \"" + name + "\"");
      }
    });
    return s;
  }();
  return spec;
}

PlatformConfig PlatformConfig::from(const config::json& r) {
  PlatformConfig p;
  p.memory = MemoryParams::from(r.at("memory"));
  for (const auto& m : r.at("dma_masters")) p.dma_masters.push_back(DmaMasterParams::from(m));
  if (r.contains("pci")) p.pci = PciConfig::from(r.at("pci"));
  if (r.contains("iommu")) p.iommu = iommu::VtdParams::from(r.at("iommu"));
  p.kernel = KernelConfig::from(r.at("kernel"));
  return p;
}

config::json PlatformConfig::expand_presets(config::json platform) {
  if (platform.is_object() && platform.contains("iommu"))
    platform["iommu"] = iommu::VtdParams::expand_preset(platform["iommu"]);
  return platform;
}

const DmaMasterParams* PlatformConfig::find_master(const std::string& name) const {
  for (const auto& m : dma_masters)
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> PlatformConfig::master_names() const {
  std::vector<std::string> out;
  for (const auto& m : dma_masters) out.push_back(m.name);
  return out;
}

}  // namespace vfiosim
