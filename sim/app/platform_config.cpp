#include "sim/app/platform_config.h"

#include <set>

namespace vfiosim {

namespace {

// The DMAR table's rules for several units: distinct register pages, one INCLUDE_PCI_ALL unit, and
// scopes of root-bus devices that exist, each in one scope only.
void check_units(const config::json& units, const config::json& pci, const std::string& ptr, config::Issues& issues) {
  std::set<std::string> root_devices;
  for (const char* list : {"root_ports", "rc_endpoints"})
    for (const auto& d : pci[list])
      if (const auto bdf = Bdf::parse(d["bdf"].get<std::string>())) root_devices.insert(bdf->str());
  std::set<uint64_t> pages;
  std::set<std::string> scoped;
  unsigned catch_all = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    const std::string at = ptr + "/" + std::to_string(i);
    const uint64_t base = units[i]["base"].get<uint64_t>();
    if (base % 4096) issues.add(at + "/base", "expected a 4 KiB-aligned register page");
    if (!pages.insert(base / 4096).second) issues.add(at + "/base", "another unit has this register page");
    const auto& scope = units[i]["scope"];
    if (scope.empty()) ++catch_all;
    for (size_t j = 0; j < scope.size(); ++j) {
      const std::string where = at + "/scope/" + std::to_string(j);
      const auto bdf = Bdf::parse(scope[j].get<std::string>());
      if (!bdf || bdf->bus != 0) {
        issues.add(where, "expected a root-bus device \"00:dd.f\", got " + scope[j].dump());
        continue;
      }
      if (!root_devices.count(bdf->str()))
        issues.add(where, "no root port or integrated endpoint at " + scope[j].dump());
      else if (!scoped.insert(bdf->str()).second)
        issues.add(where, scope[j].dump() + " is in another unit's scope");
    }
  }
  if (catch_all != 1)
    issues.add(ptr, "expected exactly one unit without a scope (the one for every other device), got " +
                        std::to_string(catch_all));
}

}  // namespace

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
    s->add(Field::array_of("iommus", Field::object_of("", iommu::VtdParams::spec()))
               .describe("Several VT-d remapping units instead of one (\"iommu0\", \"iommu1\", ...), each with its "
                         "own register page and a scope of root-bus devices; exactly one has no scope and takes every "
                         "other device")
               .items(1, 8));
    s->add(Field::object_of("kernel", KernelConfig::spec()).defaults(config::json::object())
               .describe("The simulated Linux kernel: CPU cost model, reserved memory, IOMMU options"));
    s->check([](const config::json& r, const std::string& ptr, config::Issues& issues) {
      if (r.contains("iommu") && !r.contains("pci"))
        issues.add(ptr + "/iommu", "an IOMMU needs a PCI hierarchy (platform.pci) to translate for");
      if (r.contains("iommus") && !r.contains("pci"))
        issues.add(ptr + "/iommus", "an IOMMU needs a PCI hierarchy (platform.pci) to translate for");
      if (r.contains("iommu") && r.contains("iommus"))
        issues.add(ptr + "/iommus", "give either iommu (one unit) or iommus (several), not both");
      if (r.contains("iommu") && !r["iommu"]["scope"].empty())
        issues.add(ptr + "/iommu/scope", "a single unit covers every device; scopes belong to iommus");
      if (r.contains("iommus") && r.contains("pci")) check_units(r["iommus"], r["pci"], ptr + "/iommus", issues);
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
  if (r.contains("iommu")) p.iommus.push_back({"iommu", iommu::VtdParams::from(r.at("iommu"))});
  if (r.contains("iommus"))
    for (size_t i = 0; i < r.at("iommus").size(); ++i)
      p.iommus.push_back({"iommu" + std::to_string(i), iommu::VtdParams::from(r.at("iommus")[i])});
  p.kernel = KernelConfig::from(r.at("kernel"));
  p.boots_kernel = p.pci.has_value();
  return p;
}

config::json PlatformConfig::expand_presets(config::json platform) {
  if (platform.is_object() && platform.contains("iommu"))
    platform["iommu"] = iommu::VtdParams::expand_preset(platform["iommu"]);
  if (platform.is_object() && platform.contains("iommus") && platform["iommus"].is_array())
    for (size_t i = 0; i < platform["iommus"].size(); ++i) {
      auto& unit = platform["iommus"][i];
      unit = iommu::VtdParams::expand_preset(unit);
      // Units without a base take consecutive register pages from the default one (as DMAR tables
      // list dmar0 at 0xFED90000, dmar1 at 0xFED91000).
      if (unit.is_object() && !unit.contains("base")) unit["base"] = iommu::VtdParams{}.base + 0x1000 * i;
    }
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
