// Elaborates /platform/pci: the root complex and its tree (root ports, switches, DMA engines and
// the links between them) behind the CPU's address decoder, and the Linux subsystems that drive
// it, registered into the platform's Kernel: the PCI core (which enumerates the tree at boot
// through config cycles), its drivers, MSI, AER, SR-IOV and sysfs; the iommu layer with VT-d and
// the DMA API; VFIO with type1 and vfio-pci. Each comes up through the kernel's initcalls.
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
#include "vfio/linux/drivers/iommu/dma-iommu.h"
#include "vfio/linux/drivers/iommu/intel/iommu.h"
#include "vfio/linux/kernel/kernel.h"
#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"
#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/iommu/iommu_group.h"
#include "vfio/linux/fs/sysfs/file.h"
#include "vfio/linux/drivers/pci/pcie/aer.h"
#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim {

class PciPlatform {
 public:
  /// Binds the root complex to `host_bus` (its first binding: ECAM and the MMIO windows) and its
  /// interrupts to `apic`, and registers the PCI core's initcalls (enumeration at subsys level,
  /// the boot drivers at device level) into `kernel`. The caller binds rc().memory to memory (or
  /// the IOMMU).
  PciPlatform(const PciConfig& config, kernel::Kernel& kernel, SystemBus& host_bus, InterruptController& apic,
              stats::Group& root, uint64_t seed, TraceWriter* trace);

  pci::RootComplex& rc() { return *rc_; }
  /// The kernel the PCI, iommu and VFIO subsystems run in.
  kernel::Kernel& kernel() { return kernel_; }
  kernel::PciMsi& msi() { return *msi_; }
  kernel::AerService& aer() { return *aer_; }
  /// The PCI core (drivers/pci): enumeration, config accesses, the devices.
  kernel::PciCore& core() { return *core_; }
  kernel::IommuGroups& iommu_groups() { return *groups_; }
  kernel::PciDriverCore& drivers() { return *drivers_; }
  kernel::Sysfs& sysfs() { return kernel_.sysfs(); }
  kernel::PciIov& iov() { return *iov_; }
  /// The enumerated hierarchy as the kernel sees it (for the report): BDF, IDs, type, resources,
  /// IOMMU group.
  nlohmann::json describe() const;
  const PciConfig& config() const { return config_; }
  /// The DMA engine model at a BDF ("0000:01:00.0"), or nullptr.
  pci::DmaEngine* engine(const std::string& bdf);

  /// The iommu layer (with an IOMMU: `dmar` non-empty, the ACPI DMAR table) and VFIO, with their
  /// initcalls (pci_iommu_init at rootfs level, vfio_iommu_type1 and vfio-pci at device level),
  /// leak checks and shutdown. Call before boot.
  void setup_kernel(const KernelConfig& config, const std::vector<kernel::DmarDrhd>& dmar, EventLog* events);
  kernel::IommuCore* iommu() { return iommu_core_.get(); }
  kernel::IntelIommu* intel_iommu() { return intel_.get(); }
  kernel::IommuDma* dma_api() { return dma_api_.get(); }
  kernel::Vfio& vfio() { return *vfio_; }
  kernel::VfioPci& vfio_pci() { return *vfio_pci_; }
  kernel::VfioIommuType1& type1() { return *type1_; }

  void finalize(uint64_t end_ps) { rc_->finalize(end_ps); }

 private:
  void build_port(const PciPortConfig& p, pci::PciBus& bus, pci::PortType type);
  void build_endpoints(const PciPortConfig& p, pci::PciBus& bus);
  void add_engine(const PciEndpointConfig& e, pci::PciBus& bus, const char* prefix);

  // The initcalls: pci_subsys_init (enumerate, form the groups), pci_iommu_init, the bus
  // notifier, the boot drivers, and the boot stats at late level.
  int pci_subsys_init();
  int pci_iommu_init();
  void iommu_bus_init();
  std::vector<std::string> leaks();
  void shutdown();

  PciConfig config_;
  kernel::Kernel& kernel_;
  stats::Group& stats_;
  uint64_t seed_;
  TraceWriter* trace_;
  std::unique_ptr<pci::RootComplex> rc_;
  std::unique_ptr<kernel::IommuCore> iommu_core_;
  std::unique_ptr<kernel::IntelIommu> intel_;
  std::unique_ptr<kernel::IommuDma> dma_api_;
  KernelConfig kernel_config_;
  std::unique_ptr<kernel::Vfio> vfio_;
  std::unique_ptr<kernel::VfioIommuType1> type1_;
  std::unique_ptr<kernel::PciMsi> msi_;
  std::unique_ptr<kernel::AerService> aer_;
  std::unique_ptr<kernel::VfioPci> vfio_pci_;
  std::unique_ptr<kernel::PciCore> core_;
  std::unique_ptr<kernel::IommuGroups> groups_;
  std::unique_ptr<kernel::PciDriverCore> drivers_;
  std::unique_ptr<kernel::PciIov> iov_;
  std::map<std::string, pci::DmaEngine*> engines_;
  stats::Counter* boot_config_accesses_ = nullptr;
  stats::Gauge* boot_time_ = nullptr;
  uint64_t boot_start_ = 0;
};

}  // namespace vfiosim
