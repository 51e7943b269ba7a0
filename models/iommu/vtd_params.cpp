#include "models/iommu/vtd_params.h"

#include <map>

#include "models/iommu/vtd_defs.h"

namespace vfiosim::iommu {

namespace {

using config::Field;
using config::json;

std::shared_ptr<const config::ObjectSpec> cache_spec(const std::string& title, const std::string& what,
                                                     const CacheGeometry& d, uint32_t max_entries) {
  auto s = std::make_shared<config::ObjectSpec>(title, what);
  s->add(Field::integer("entries").with_unit("entries").describe("Entries (0 disables the cache)")
             .defaults(d.entries).at_least(0).at_most(max_entries));
  s->add(Field::integer("ways").with_unit("ways").describe("Associativity; equal to entries for fully associative")
             .defaults(d.ways).at_least(1).at_most(max_entries));
  s->add(Field::enumeration("replacement", {"lru", "fifo", "random"}).describe("Replacement policy")
             .defaults(d.replacement));
  s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
    const auto entries = r["entries"].get<uint64_t>();
    const auto ways = r["ways"].get<uint64_t>();
    if (entries && ways > entries)
      issues.add(ptr + "/ways", "expected at most entries (" + std::to_string(entries) + ") ways, got " +
                                    std::to_string(ways));
    else if (entries && entries % ways)
      issues.add(ptr + "/ways", "expected a divisor of entries (" + std::to_string(entries) + "), got " +
                                    std::to_string(ways));
  });
  return s;
}

CacheGeometry cache_from(const json& r) {
  return {r.at("entries").get<uint32_t>(), r.at("ways").get<uint32_t>(), r.at("replacement").get<std::string>()};
}

// Named parameter sets. Physical quantities only: cache sizes, walkers and latencies.
const std::map<std::string, json>& presets() {
  static const std::map<std::string, json> p = {
      // Broadwell-EP (Xeon E5-2630 v4) VT-d as pcie-bench measured it (perf-anchors.md §1.3):
      // 4-level 48-bit tables, 2 MiB and 1 GiB pages, NFR = 8, PSI with MAMV = 18, 64 Ki domains.
      // The IOTLB reach of 64 4 KiB entries puts the bandwidth knee between 256 and 512 KiB; the
      // flat +280 ns per miss from 1 MiB to 64 MiB says the walk cost does not change with the
      // number of page directories touched, so the walk reads the PDE and the PTE every time (no
      // PDE cache); PML4E/PDPTE caches hold the upper levels. Each walk read crosses the uncore
      // to the home agent and back (fabric_cycles each way). Five walkers bound miss service near
      // 18 M/s, the plateau of the 64 B read experiment.
      {"broadwell-vtd",
       {{"clock_mhz", 1000},
        {"levels", {4}},
        {"superpage_2m", true},
        {"superpage_1g", true},
        {"fault_records", 8},
        {"domain_bits", 16},
        {"psi", true},
        {"mamv", 18},
        {"context_cache", {{"entries", 16}, {"ways", 16}}},
        {"iotlb", {{"entries", 64}, {"ways", 4}}},
        {"pwc", {{"l1", {{"entries", 0}, {"ways", 1}}},
                 {"l2", {{"entries", 4}, {"ways", 4}}},
                 {"l3", {{"entries", 4}, {"ways", 4}}},
                 {"l4", {{"entries", 0}, {"ways", 1}}}}},
        {"lookup_cycles", 4},
        {"pwc_cycles", 2},
        {"walk_setup_cycles", 8},
        {"walk_step_cycles", 4},
        {"fabric_cycles", 25},
        {"walkers", 5},
        {"qi_desc_cycles", 20},
        {"fault_cycles", 10},
        {"register_cycles", 10}}},
  };
  return p;
}

json merge_under(const json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) return over;
  json out = base;
  for (auto it = over.begin(); it != over.end(); ++it)
    out[it.key()] = out.contains(it.key()) ? merge_under(out[it.key()], it.value()) : it.value();
  return out;
}

}  // namespace

std::vector<std::string> VtdParams::preset_names() {
  std::vector<std::string> out{"none"};
  for (const auto& [name, _] : presets()) out.push_back(name);
  return out;
}

json VtdParams::expand_preset(const json& written) {
  if (!written.is_object() || !written.contains("preset") || !written["preset"].is_string()) return written;
  auto it = presets().find(written["preset"].get<std::string>());
  if (it == presets().end()) return written;
  return merge_under(it->second, written);
}

std::shared_ptr<const config::ObjectSpec> VtdParams::spec() {
  static const auto spec = [] {
    const VtdParams d;
    auto s = std::make_shared<config::ObjectSpec>("iommu", "A VT-d-style IOMMU between the root complex and memory");
    s->add(Field::enumeration("preset", preset_names()).defaults("none")
               .describe("Named parameter set (broadwell-vtd: Xeon E5 v4 as measured by pcie-bench); fields written "
                         "here override it"));
    s->add(Field::integer("clock_mhz").with_unit("MHz").describe("IOMMU clock").defaults(d.clock_mhz).at_least(1)
               .at_most(10000));
    s->add(Field::size("base").with_unit("bytes").describe("Physical address of the register page")
               .defaults("0xFED90000"));
    s->add(Field::array_of("scope", Field::string(""))
               .describe("Device scope of this remapping unit (DMAR DRHD): root-bus devices, e.g. \"00:02.0\" (a root "
                         "port takes its whole hierarchy); empty: every device no other unit lists (INCLUDE_PCI_ALL)")
               .defaults(json::array()).items(0, 256));
    s->add(Field::array_of("levels", Field::integer("").at_least(3).at_most(5))
               .describe("Supported second-level page-table depths (CAP.SAGAW): 3 (39-bit), 4 (48-bit), 5 (57-bit)")
               .defaults(json::array({4})).items(1, 3));
    s->add(Field::boolean("superpage_2m").describe("2 MiB second-level pages (CAP.SLLPS bit 0)").defaults(true));
    s->add(Field::boolean("superpage_1g").describe("1 GiB second-level pages (CAP.SLLPS bit 1)").defaults(true));
    s->add(Field::integer("fault_records").with_unit("registers").describe("Fault-recording registers (CAP.NFR + 1)")
               .defaults(d.fault_records).at_least(1).at_most(64));
    s->add(Field::integer("domain_bits").with_unit("bits").describe("Domain-id width (CAP.ND): 4, 6, ..., 16")
               .defaults(d.domain_bits).at_least(4).at_most(16));
    s->add(Field::boolean("psi").describe("Page-selective IOTLB invalidation (CAP.PSI)").defaults(true));
    s->add(Field::integer("mamv").describe("Largest address mask of a page-selective invalidation (CAP.MAMV)")
               .defaults(d.mamv).at_least(0).at_most(63));
    s->add(Field::boolean("pass_through").describe("Pass-through contexts (ECAP.PT)").defaults(true));
    s->add(Field::boolean("coherent").describe("Page walks snoop CPU caches (ECAP.C)").defaults(true));
    s->add(Field::boolean("snoop_control")
               .describe("Snoop control (ECAP.SC): the IOMMU can enforce cache-coherent DMA, which VFIO requires")
               .defaults(true));
    s->add(Field::boolean("interrupt_remapping")
               .describe("Advertise interrupt remapping (ECAP.IR), which VFIO requires for MSI isolation; MSIs are "
                         "not remapped by the model")
               .defaults(true));
    s->add(Field::object_of("context_cache", cache_spec("context_cache", "Context-entry cache, tagged by source id",
                                                        d.context_cache, 4096))
               .defaults(json::object()).describe("Context cache"));
    s->add(Field::object_of("iotlb", cache_spec("iotlb", "IOTLB, tagged by domain id, page number and page size",
                                                d.iotlb, 1 << 20))
               .defaults(json::object()).describe("IOTLB"));
    auto pwc = std::make_shared<config::ObjectSpec>("pwc", "Paging-structure caches, one per non-leaf level");
    const char* names[4] = {"l1", "l2", "l3", "l4"};
    const char* what[4] = {"PDE cache: page-directory entries (points to page tables)",
                           "PDPTE cache: page-directory-pointer entries", "PML4E cache", "PML5E cache (5-level)"};
    for (int i = 0; i < 4; ++i)
      pwc->add(Field::object_of(names[i], cache_spec(names[i], what[i], d.pwc[i], 65536)).defaults(json::object())
                   .describe(what[i]));
    s->add(Field::object_of("pwc", pwc).defaults(json::object()).describe("Paging-structure caches"));
    s->add(Field::integer("lookup_cycles").with_unit("cycles").describe("IOTLB and context-cache lookup (hit or miss)")
               .defaults(d.lookup_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("pwc_cycles").with_unit("cycles").describe("Paging-structure cache lookup on an IOTLB miss")
               .defaults(d.pwc_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("walk_setup_cycles").with_unit("cycles").describe("From an IOTLB miss to its walk starting")
               .defaults(d.walk_setup_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("walk_step_cycles").with_unit("cycles").describe("Processing one fetched table entry")
               .defaults(d.walk_step_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("fabric_cycles").with_unit("cycles")
               .describe("The walker's path to memory, each way (added to every table read)")
               .defaults(d.fabric_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("walkers").with_unit("walks").describe("Page walks in flight at most")
               .defaults(d.walkers).at_least(1).at_most(256));
    s->add(Field::integer("qi_desc_cycles").with_unit("cycles").describe("Processing one invalidation descriptor")
               .defaults(d.qi_desc_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("fault_cycles").with_unit("cycles").describe("Recording a fault")
               .defaults(d.fault_cycles).at_least(0).at_most(100000));
    s->add(Field::integer("register_cycles").with_unit("cycles").describe("Serving one register access")
               .defaults(d.register_cycles).at_least(0).at_most(100000));
    s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      if (r["domain_bits"].get<unsigned>() % 2)
        issues.add(ptr + "/domain_bits", "expected an even number of bits (4 + 2*ND), got " + r["domain_bits"].dump());
      const auto& lv = r["levels"];
      for (size_t i = 0; i < lv.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          if (lv[i] == lv[j]) issues.add(ptr + "/levels/" + std::to_string(i), "duplicate level " + lv[i].dump());
    });
    return s;
  }();
  return spec;
}

VtdParams VtdParams::from(const json& r) {
  VtdParams p;
  p.clock_mhz = r.at("clock_mhz").get<uint64_t>();
  p.base = r.at("base").get<uint64_t>();
  p.scope = r.at("scope").get<std::vector<std::string>>();
  p.levels = r.at("levels").get<std::vector<unsigned>>();
  p.superpage_2m = r.at("superpage_2m").get<bool>();
  p.superpage_1g = r.at("superpage_1g").get<bool>();
  p.fault_records = r.at("fault_records").get<unsigned>();
  p.domain_bits = r.at("domain_bits").get<unsigned>();
  p.psi = r.at("psi").get<bool>();
  p.mamv = r.at("mamv").get<unsigned>();
  p.pass_through = r.at("pass_through").get<bool>();
  p.coherent = r.at("coherent").get<bool>();
  p.interrupt_remapping = r.at("interrupt_remapping").get<bool>();
  p.snoop_control = r.at("snoop_control").get<bool>();
  p.context_cache = cache_from(r.at("context_cache"));
  p.iotlb = cache_from(r.at("iotlb"));
  const char* names[4] = {"l1", "l2", "l3", "l4"};
  for (int i = 0; i < 4; ++i) p.pwc[i] = cache_from(r.at("pwc").at(names[i]));
  p.lookup_cycles = r.at("lookup_cycles").get<uint64_t>();
  p.pwc_cycles = r.at("pwc_cycles").get<uint64_t>();
  p.walk_setup_cycles = r.at("walk_setup_cycles").get<uint64_t>();
  p.walk_step_cycles = r.at("walk_step_cycles").get<uint64_t>();
  p.fabric_cycles = r.at("fabric_cycles").get<uint64_t>();
  p.walkers = r.at("walkers").get<unsigned>();
  p.qi_desc_cycles = r.at("qi_desc_cycles").get<uint64_t>();
  p.fault_cycles = r.at("fault_cycles").get<uint64_t>();
  p.register_cycles = r.at("register_cycles").get<uint64_t>();
  return p;
}

uint64_t VtdParams::cap() const {
  uint64_t sagaw = 0;
  unsigned max_levels = 0;
  for (unsigned l : levels) {
    sagaw |= 1ULL << vtd::levels_to_aw(l);
    max_levels = std::max(max_levels, l);
  }
  const uint64_t mgaw = vtd::aw_bits(vtd::levels_to_aw(max_levels)) - 1;
  const uint64_t sllps = (superpage_2m ? 1 : 0) | (superpage_1g ? 2 : 0);
  return ((domain_bits - 4) / 2) | (sagaw << 8) | (mgaw << 16) | vtd::CAP_ZLR |
         (static_cast<uint64_t>(vtd::fro_offset(fault_records) / 16) << 24) | (sllps << 34) | (psi ? 1ULL << 39 : 0) |
         (static_cast<uint64_t>(fault_records - 1) << 40) | (static_cast<uint64_t>(mamv) << 48) | vtd::CAP_DWD |
         vtd::CAP_DRD;
}

uint64_t VtdParams::ecap() const {
  return (coherent ? vtd::ECAP_C : 0) | vtd::ECAP_QI | (interrupt_remapping ? vtd::ECAP_IR : 0) | (pass_through ? vtd::ECAP_PT : 0) |
         (snoop_control ? vtd::ECAP_SC : 0) | (static_cast<uint64_t>(vtd::kIroOffset / 16) << 8);
}

}  // namespace vfiosim::iommu
