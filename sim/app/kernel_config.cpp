#include "sim/app/kernel_config.h"

namespace vfiosim {

std::shared_ptr<const config::ObjectSpec> KernelConfig::spec() {
  using config::Field;
  using config::json;
  static const auto spec = [] {
    auto costs = std::make_shared<config::ObjectSpec>("costs", "Cycles kernel operations charge (docs/cost-model.md)");
    for (const auto& c : kernel::cost_table())
      costs->add(Field::integer(c.name).with_unit("cycles").describe(c.desc).defaults(c.cycles).at_least(0)
                     .at_most(1e9));
    auto iommu = std::make_shared<config::ObjectSpec>("iommu", "IOMMU command-line options");
    iommu->add(Field::boolean("strict").describe("iommu.strict=1: DMA-API unmaps invalidate the IOTLB synchronously "
                                                 "(false: lazy, through the flush queue)")
                   .defaults(false));
    iommu->add(Field::boolean("superpages").describe("Use 2 MiB / 1 GiB IOMMU pages where the hardware has them "
                                                     "(false: intel_iommu=sp_off)")
                   .defaults(true));
    iommu->add(Field::boolean("passthrough").describe("iommu=pt: identity (pass-through) default domains")
                   .defaults(false));
    iommu->add(Field::integer("flush_batch").with_unit("unmaps").describe("Lazy mode: queued unmaps that force a flush")
                   .defaults(250).at_least(1).at_most(1 << 20));
    iommu->add(Field::number("flush_timeout_ms").with_unit("ms")
                   .describe("Lazy mode: a flush this long after the first queued unmap").defaults(10).at_least(0.001)
                   .at_most(10000));
    auto s = std::make_shared<config::ObjectSpec>("kernel", "The simulated Linux kernel");
    s->add(Field::integer("cpu_mhz").with_unit("MHz").describe("CPU clock the cost table is counted in")
               .defaults(2200).at_least(1).at_most(10000));
    s->add(Field::object_of("costs", costs).defaults(json::object()).describe("Cost-table overrides"));
    s->add(Field::size("memory").with_unit("bytes")
               .describe("Host memory reserved at its top for kernel pages (page tables, queues)")
               .defaults("64MiB").at_least(1 << 20).at_most(static_cast<double>(1ULL << 40)));
    s->add(Field::object_of("iommu", iommu).defaults(json::object()).describe("IOMMU options"));
    s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      if (r["memory"].get<uint64_t>() % 4096) issues.add(ptr + "/memory", "expected a multiple of 4 KiB");
    });
    return s;
  }();
  return spec;
}

KernelConfig KernelConfig::from(const config::json& r) {
  KernelConfig k;
  k.cpu_mhz = r.at("cpu_mhz").get<uint64_t>();
  for (auto it = r.at("costs").begin(); it != r.at("costs").end(); ++it) k.costs[it.key()] = it.value().get<uint64_t>();
  k.memory = r.at("memory").get<uint64_t>();
  const auto& i = r.at("iommu");
  k.iommu.strict = i.at("strict").get<bool>();
  k.iommu.superpages = i.at("superpages").get<bool>();
  k.iommu.passthrough = i.at("passthrough").get<bool>();
  k.iommu.flush_batch = i.at("flush_batch").get<unsigned>();
  k.iommu.flush_timeout_ps = static_cast<uint64_t>(i.at("flush_timeout_ms").get<double>() * 1e9 + 0.5);
  return k;
}

}  // namespace vfiosim
