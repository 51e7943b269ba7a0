// Elaborates /platform/pci: the root complex and its tree (root ports, switches, DMA engines and
// the links between them), the CPU's host port and interrupt controller, and the kernel's PCI
// core, which enumerates the tree at boot through config cycles.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <systemc>

#include "models/cpu/host_port.h"
#include "models/cpu/interrupt_controller.h"
#include "models/cpu/system_bus.h"
#include "models/pci/dma_engine.h"
#include "models/pci/root_complex.h"
#include "sim/app/kernel_config.h"
#include "sim/app/pci_config.h"
#include "sim/base/event_log.h"
#include "vfio/linux/iommu/dma_iommu.h"
#include "vfio/linux/iommu/intel/intel_iommu.h"
#include "vfio/linux/kernel/syscalls.h"
#include "vfio/linux/kernel/task.h"
#include "vfio/vfio/pci/vfio_pci.h"
#include "vfio/vfio/vfio_iommu_type1.h"
#include "vfio/linux/driver/pci_driver.h"
#include "vfio/linux/iommu/iommu_group.h"
#include "vfio/linux/sysfs/sysfs.h"
#include "vfio/linux/pci/aer.h"
#include "vfio/linux/pci/iov.h"
#include "vfio/linux/pci/pci_core.h"

namespace vfiosim {

class PciPlatform {
 public:
  /// The caller binds rc().memory to memory (or the IOMMU).
  PciPlatform(const PciConfig& config, stats::Group& root, uint64_t seed, TraceWriter* trace);

  pci::RootComplex& rc() { return *rc_; }
  HostPort& cpu() { return *cpu_; }
  /// The CPU's address decoder: binding 0 is the root complex; the platform adds memory (and the
  /// IOMMU's registers) after it.
  SystemBus& bus() { return *bus_; }
  InterruptController& irq() { return *irq_; }
  kernel::IrqCore& irqs() { return *irqs_; }
  kernel::PciMsi& msi() { return *msi_; }
  kernel::AerService& aer() { return *aer_; }
  kernel::PciCore& kernel() { return *kernel_; }
  kernel::IommuGroups& iommu_groups() { return *groups_; }
  kernel::PciDriverCore& drivers() { return *drivers_; }
  kernel::Sysfs& sysfs() { return *sysfs_; }
  kernel::PciIov& iov() { return *iov_; }
  /// The enumerated hierarchy as the kernel sees it (for the report): BDF, IDs, type, resources,
  /// IOMMU group.
  nlohmann::json describe() const;
  const PciConfig& config() const { return config_; }
  /// The DMA engine model at a BDF ("0000:01:00.0"), or nullptr.
  pci::DmaEngine* engine(const std::string& bdf);

  /// The kernel's memory, cost model and (with an IOMMU at `iommu_regs`, 0 for none) the iommu
  /// core, the VT-d driver and the DMA API. Call before boot.
  void setup_kernel(const KernelConfig& config, uint64_t memory_size, const std::vector<kernel::DmarDrhd>& dmar,
                    EventLog* events);
  kernel::CpuCosts& costs() { return *costs_; }
  kernel::PageAllocator* pages() { return pages_.get(); }
  kernel::IommuCore* iommu() { return iommu_core_.get(); }
  kernel::IntelIommu* intel_iommu() { return intel_.get(); }
  kernel::IommuDma* dma_api() { return dma_api_.get(); }
  kernel::Vfs& vfs() { return vfs_; }
  /// The system calls userspace makes (set up with the cost model).
  kernel::Syscalls& syscalls() { return *syscalls_; }
  kernel::Vfio& vfio() { return *vfio_; }
  kernel::VfioPci& vfio_pci() { return *vfio_pci_; }
  kernel::VfioIommuType1& type1() { return *type1_; }
  /// The simulated process of that name (created on first use).
  kernel::Task& task(const std::string& process);
  bool has_task(const std::string& process) const { return tasks_.count(process) != 0; }
  /// Names a scenario gave to descriptors and buffers, per process ("container" -> 3).
  std::map<std::string, int64_t>& names(const std::string& process) { return names_[process]; }
  /// Everything the kernel still holds at the end of a run (empty when every object was freed).
  std::vector<std::string> leaks();
  /// device_shutdown() for VFIO: unbind vfio-pci from every device (waits for any user left).
  void shutdown();

  /// Linux's PCI boot: enumerate, assign resources, set MPS/MRRS, form IOMMU groups, register
  /// the drivers (pcieport, vfiosim-dmae), which bind to their devices. Runs in a SystemC thread.
  void boot();

  void finalize(uint64_t end_ps) { rc_->finalize(end_ps); }

 private:
  void build_port(const PciPortConfig& p, pci::PciBus& bus, pci::PortType type);
  void build_endpoints(const PciPortConfig& p, pci::PciBus& bus);
  void add_engine(const PciEndpointConfig& e, pci::PciBus& bus, const char* prefix);

  PciConfig config_;
  stats::Group& stats_;
  uint64_t seed_;
  TraceWriter* trace_;
  std::unique_ptr<pci::RootComplex> rc_;
  std::unique_ptr<HostPort> cpu_;
  std::unique_ptr<SystemBus> bus_;
  std::unique_ptr<kernel::CpuCosts> costs_;
  std::unique_ptr<kernel::PageAllocator> pages_;
  std::unique_ptr<kernel::IommuCore> iommu_core_;
  std::unique_ptr<kernel::IntelIommu> intel_;
  std::unique_ptr<kernel::IommuDma> dma_api_;
  KernelConfig kernel_config_;
  kernel::Vfs vfs_;
  std::unique_ptr<kernel::Syscalls> syscalls_;
  std::unique_ptr<kernel::UserPageAllocator> user_pages_;
  std::unique_ptr<kernel::Vfio> vfio_;
  std::unique_ptr<kernel::VfioIommuType1> type1_;
  std::unique_ptr<kernel::IrqCore> irqs_;
  std::unique_ptr<kernel::PciMsi> msi_;
  std::unique_ptr<kernel::AerService> aer_;
  std::unique_ptr<kernel::VfioPci> vfio_pci_;
  std::map<std::string, std::unique_ptr<kernel::Task>> tasks_;
  std::map<std::string, std::map<std::string, int64_t>> names_;
  std::unique_ptr<InterruptController> irq_;
  std::unique_ptr<kernel::PciCore> kernel_;
  std::unique_ptr<kernel::IommuGroups> groups_;
  std::unique_ptr<kernel::PciDriverCore> drivers_;
  std::unique_ptr<kernel::Sysfs> sysfs_;
  std::unique_ptr<kernel::PciIov> iov_;
  std::map<std::string, pci::DmaEngine*> engines_;
  stats::Counter* boot_config_accesses_ = nullptr;
  stats::Gauge* boot_time_ = nullptr;
};

}  // namespace vfiosim
