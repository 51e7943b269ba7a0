// The simulated machine as a SystemC module tree ("system"): elaborated from a PlatformConfig.
// Host memory and host-side DMA masters bound straight to it; the CPU (its port into the address
// decoder and its local APICs) and the Linux kernel running on it; the PCIe hierarchy with the
// IOMMUs between it and memory, whose subsystems register into the kernel. A bare platform
// (memory and masters, no PCI, no step that needs a process) runs without a kernel.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/iommu/vtd_iommu.h"
#include "models/memory/memory.h"
#include "models/traffic/dma_master.h"
#include "sim/app/pci_platform.h"
#include "vfio/linux/kernel/kernel.h"
#include "sim/app/platform_config.h"
#include "sim/base/event_log.h"
#include "sim/base/trace_writer.h"
#include "sim/stats/group.h"

namespace vfiosim {

class Platform : public sc_core::sc_module {
 public:
  /// `stats_root` is the "system" group; every model hangs its own group below it.
  Platform(const sc_core::sc_module_name& name, const PlatformConfig& config, stats::Group& stats_root,
           uint64_t seed, TraceWriter* trace);

  const PlatformConfig& config() const { return config_; }
  Memory& memory() { return *memory_; }
  /// The master of that name; nullptr if there is none (steps are checked before elaboration).
  DmaMaster* master(const std::string& name);

  /// The Linux kernel, if the platform runs one (PlatformConfig::boots_kernel).
  kernel::Kernel* kernel() { return kernel_.get(); }
  /// The CPU's local APICs (what MSI writes reach); only on a platform that runs a kernel.
  InterruptController& apic() { return *apic_; }
  /// The PCI Express side, if the platform has one.
  PciPlatform* pci() { return pci_.get(); }
  /// The IOMMU model (the first remapping unit), if the platform has one.
  iommu::VtdIommu* iommu() { return iommus_.empty() ? nullptr : iommus_.front().get(); }
  /// Every remapping unit, in the order the platform lists them.
  const std::vector<std::unique_ptr<iommu::VtdIommu>>& iommus() const { return iommus_; }
  /// Notable events (IOMMU faults, kernel messages) in simulation order.
  const EventLog& events() const { return events_; }

  /// What the kernel found (PCI devices, resources, IOMMU groups); empty without PCI.
  nlohmann::json describe() const;

  /// A scenario process ends: its simulated task closes every file it still holds.
  void exit_process(const std::string& process);
  /// Every process has exited: the kernel unbinds the VFIO drivers (as at shutdown), so the leak
  /// check can find every object that should be gone.
  void shutdown();
  /// What the kernel still holds after shutdown (empty when every object was freed).
  std::vector<std::string> leaks();

  /// Blocks the calling thread until the kernel has booted (every initcall has run).
  void wait_until_booted();

  /// Brings derived stats up to date at the end of a run.
  void finalize(const sc_core::sc_time& end);
  ~Platform() override;

  /// The kernel's memory layout: its pages at the top of host memory below the PCI hole (ECAM and
  /// the 32-bit window), userspace's pages below them. Throws when the kernel does not fit.
  static kernel::KernelParams kernel_params(const KernelConfig& kc, uint64_t memory_size, const PciConfig* pci);

 private:
  void boot();

  PlatformConfig config_;
  EventLog events_;
  std::unique_ptr<HostPort> cpu_;
  std::unique_ptr<SystemBus> host_bus_;  // the CPU's address decoder
  std::unique_ptr<InterruptController> apic_;
  std::unique_ptr<kernel::Kernel> kernel_;
  std::unique_ptr<PciPlatform> pci_;
  std::vector<std::unique_ptr<iommu::VtdIommu>> iommus_;
  std::unique_ptr<SystemBus> dma_router_;  // after the IOMMU: host memory or a peer BAR
  bool booted_ = false;
  sc_core::sc_event booted_event_;
  std::unique_ptr<Memory> memory_;
  std::vector<std::unique_ptr<DmaMaster>> masters_;
};

}  // namespace vfiosim
