// A minimal kernel driver for the vfiosim DMA engine, as a test harness uses it before vfio-pci
// exists: pci_enable_device, pci_set_master, MSI-X vector 0 set up through config space and the
// BAR0 table, the job programmed through BAR0, completion taken from the interrupt, results read
// back from the registers. Every step is an MMIO or config access of the calling thread.
#pragma once

#include <string>

#include "models/traffic/workload.h"
#include "sim/app/pci_platform.h"

namespace vfiosim {

struct EngineRun {
  WorkloadSummary summary;
  uint32_t mps = 0;   // Max_Payload_Size the device runs with (bytes)
  uint32_t mrrs = 0;  // Max_Read_Request_Size (bytes)
  bool mapped = false;        // the window went through the DMA API (an IOMMU translates)
  uint64_t dma_address = 0;   // what the engine was programmed with
  uint64_t page_size = 0;     // largest IOMMU page the mapping used (bytes)
};

/// How the harness driver makes the window visible to its device.
struct DmaMapping {
  bool enabled = true;      // dma_map_resource() the window (behind an IOMMU)
  uint64_t granule = 4096;  // map whole aligned granules of this size
};

/// The name the harness driver registers under (/sys/bus/pci/drivers/vfiosim-dmae).
constexpr const char* kDmaEngineDriver = "vfiosim-dmae";

/// Registers the drivers a booted kernel has: pcieport for PCIe ports and the DMA engine driver.
void register_boot_drivers(PciPlatform& pci);

/// Runs `w` on the engine at `bdf`; blocks the calling SystemC thread until the job's interrupt.
/// Throws std::runtime_error when the device is not bound to the DMA engine driver.
/// Behind a translating IOMMU the window is mapped through the DMA API for the job and unmapped
/// after it (`map`).
EngineRun run_engine_job(PciPlatform& pci, const std::string& bdf, const Workload& w, const DmaMapping& map = {});

}  // namespace vfiosim
