// /platform/kernel: how the simulated Linux runs — its CPU clock and cost table overrides, the
// memory reserved for its own structures (at the top of host memory), and the IOMMU layer's
// command-line options (intel_iommu=sp_off, iommu.strict, iommu=pt, the flush-queue limits).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "sim/config/spec.h"
#include "vfio/linux/drivers/iommu/intel/iommu.h"
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

namespace vfiosim {

struct KernelConfig {
  uint64_t cpu_mhz = 2200;
  std::map<std::string, uint64_t> costs;  // cost-table overrides by name
  uint64_t memory = 64ULL << 20;          // bytes reserved for kernel pages
  uint64_t user_memory = 256ULL << 20;    // bytes below them for userspace pages (mmap)
  kernel::IommuOptions iommu;
  kernel::Type1Params type1;
  bool enable_unsafe_noiommu_mode = false;
  bool vfio_pci_enable_sriov = false;  // vfio-pci.enable_sriov

  static std::shared_ptr<const config::ObjectSpec> spec();
  static KernelConfig from(const config::json& resolved);
};

}  // namespace vfiosim
