// A booted-on-demand PCI platform for kernel-side PCI tests: memory plus the PciPlatform built
// from a written /platform/pci section (resolved through the scenario schema), and the IOMMU
// groups it formed as sets of "bb:dd.f" names.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "models/memory/memory.h"
#include "sim/app/pci_platform.h"
#include "sim/config/spec.h"

namespace vfiosim::pcitest {

using Groups = std::set<std::set<std::string>>;

struct PlatformMachine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<PciPlatform> pci;
  explicit PlatformMachine(const nlohmann::json& written, uint64_t memory_size = 1ULL << 32) {
    MemoryParams mp;
    mp.size = memory_size;
    memory = std::make_unique<Memory>("memory", mp, root);
    pci = std::make_unique<PciPlatform>(PciConfig::from(config::resolve_document(PciConfig::spec(), written)), root, 1,
                                        nullptr);
    pci->rc().memory.bind(memory->port);
  }
  Groups groups() const {
    Groups out;
    for (const auto& g : pci->iommu_groups().groups()) {
      std::set<std::string> members;
      for (const auto* d : g->devices) members.insert(kernel::dev_name(d).substr(5));  // "bb:dd.f"
      out.insert(members);
    }
    return out;
  }
};

}  // namespace vfiosim::pcitest
