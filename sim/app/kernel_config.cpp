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
    s->add(Field::size("user_memory").with_unit("bytes")
               .describe("Host memory below the kernel's reserved for userspace pages (mmap in scenarios)")
               .defaults("256MiB").at_least(1 << 20).at_most(static_cast<double>(1ULL << 40)));
    auto type1 = std::make_shared<config::ObjectSpec>("vfio_iommu_type1", "Module parameters of vfio_iommu_type1");
    type1->add(Field::boolean("allow_unsafe_interrupts")
                   .describe("Attach groups without MSI isolation (interrupt remapping)").defaults(false));
    type1->add(Field::boolean("disable_hugepages").describe("Pin and map one page at a time").defaults(false));
    type1->add(Field::integer("dma_entry_limit").with_unit("mappings")
                   .describe("Mappings per container (read at VFIO_SET_IOMMU)").defaults(65535).at_least(0)
                   .at_most(4294967295.0));
    type1->add(Field::boolean("addressable_limit_fix")
                   .describe("Mainline (>= v6.18) map/unmap up to the 2^64 end: inclusive-end lookups, -EOVERFLOW on "
                             "overflow (false: v6.1, where a mapping ending at 2^64 escapes the lookups, C-143)")
                   .defaults(false));
    s->add(Field::object_of("vfio_iommu_type1", type1).defaults(json::object()).describe("vfio_iommu_type1 parameters"));
    auto vpci = std::make_shared<config::ObjectSpec>("vfio_pci", "Module parameters of vfio-pci");
    vpci->add(Field::boolean("enable_sriov")
                  .describe("vfio-pci.enable_sriov: a PF bound to vfio-pci may create VFs (sriov_numvfs)")
                  .defaults(false));
    s->add(Field::object_of("vfio_pci", vpci).defaults(json::object()).describe("vfio-pci parameters"));
    s->add(Field::boolean("enable_unsafe_noiommu_mode")
               .describe("vfio.enable_unsafe_noiommu_mode: no-IOMMU groups for devices without an IOMMU")
               .defaults(false));
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
  k.user_memory = r.at("user_memory").get<uint64_t>();
  const auto& t1 = r.at("vfio_iommu_type1");
  k.type1.allow_unsafe_interrupts = t1.at("allow_unsafe_interrupts").get<bool>();
  k.type1.disable_hugepages = t1.at("disable_hugepages").get<bool>();
  k.type1.dma_entry_limit = t1.at("dma_entry_limit").get<unsigned>();
  k.type1.addressable_limit_fix = t1.at("addressable_limit_fix").get<bool>();
  k.enable_unsafe_noiommu_mode = r.at("enable_unsafe_noiommu_mode").get<bool>();
  k.vfio_pci_enable_sriov = r.at("vfio_pci").at("enable_sriov").get<bool>();
  const auto& i = r.at("iommu");
  k.iommu.strict = i.at("strict").get<bool>();
  k.iommu.superpages = i.at("superpages").get<bool>();
  k.iommu.passthrough = i.at("passthrough").get<bool>();
  k.iommu.flush_batch = i.at("flush_batch").get<unsigned>();
  k.iommu.flush_timeout_ps = static_cast<uint64_t>(i.at("flush_timeout_ms").get<double>() * 1e9 + 0.5);
  return k;
}

}  // namespace vfiosim
