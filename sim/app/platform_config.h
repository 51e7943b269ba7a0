// The platform section of a scenario: its spec (as written) and the resolved, typed configuration
// from which the Platform module is elaborated.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/iommu/vtd_params.h"
#include "models/memory/memory_params.h"
#include "models/traffic/dma_master_params.h"
#include "sim/app/kernel_config.h"
#include "sim/app/pci_config.h"
#include "sim/config/spec.h"

namespace vfiosim {

/// One DMA remapping hardware unit: its module name ("iommu", or "iommu0", "iommu1", ... when the
/// platform lists several) and its parameters, scope included.
struct IommuUnitConfig {
  std::string name;
  iommu::VtdParams params;
};

struct PlatformConfig {
  MemoryParams memory;
  std::vector<DmaMasterParams> dma_masters;
  std::optional<PciConfig> pci;
  std::vector<IommuUnitConfig> iommus;  // empty: no IOMMU
  KernelConfig kernel;
  /// The platform runs Linux: it has PCI, or a scenario step needs a process (set by the scenario
  /// loader). A bare platform (memory and DMA masters only) runs no kernel and reports no kernel stats.
  bool boots_kernel = false;

  /// Expands named presets in the document as written (before validation).
  static config::json expand_presets(config::json written_platform);

  static std::shared_ptr<const config::ObjectSpec> spec();
  static PlatformConfig from(const config::json& resolved);

  const DmaMasterParams* find_master(const std::string& name) const;
  std::vector<std::string> master_names() const;
};

}  // namespace vfiosim
