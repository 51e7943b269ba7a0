// The machine platform-level tests run on. A MachineBuilder says what it has, in the scenario
// format's words (PCI devices under root ports, one IOMMU, several remapping units or none, kernel
// options); Machine elaborates it as the scenario runner does (sim/app Platform: the models, the
// kernel, boot in its own thread) and hands tests what they reach for: PCI devices by BDF, driver
// binding, tasks, the system-call layer (which pays the syscall entry cost, as a scenario's steps
// do), stats by path, and the calls of a VFIO user (container, group, device fd, MAP/UNMAP).
#pragma once

#include <linux/vfio.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/app/platform.h"
#include "sim/stats/group.h"

namespace vfiosim::support {

using nlohmann::json;

class MachineBuilder {
 public:
  /// 4 GiB of memory, one broadwell-vtd IOMMU, no PCI devices yet.
  MachineBuilder();

  MachineBuilder& memory(const std::string& size);
  /// One remapping unit (platform.iommu), replacing any unit given before.
  MachineBuilder& iommu(const json& unit = {{"preset", "broadwell-vtd"}});
  /// Several remapping units with device scopes (platform.iommus).
  MachineBuilder& units(const json& units);
  MachineBuilder& no_iommu();
  /// Kernel options (platform.kernel), merged over what was given before.
  MachineBuilder& kernel(const json& options);
  /// A root port at `bdf` with `children` as /platform/pci/root_ports/*/children.
  MachineBuilder& root_port(const std::string& bdf, json children);
  /// A root port with one DMA engine below it; `extra` adds endpoint fields ({"tags": 32}).
  MachineBuilder& engine(const std::string& port, const std::string& bdf, const json& extra = json::object());

  /// The platform section as a scenario would write it.
  const json& written() const { return platform_; }

 private:
  json platform_;
};

/// The usual test machine: the IOMMU and one DMA engine at 01:00.0 below root port 00:01.0.
MachineBuilder one_engine();

class Machine {
 public:
  explicit Machine(const MachineBuilder& b = one_engine());
  virtual ~Machine() = default;
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  Platform& platform() { return *platform_; }
  PciPlatform& pci() { return *platform_->pci(); }
  /// The kernel: tasks, VFS, costs, the irq layer.
  kernel::Kernel& kernel() { return *platform_->kernel(); }
  InterruptController& apic() { return platform_->apic(); }
  kernel::Vfio& vfio() { return pci().vfio(); }
  kernel::IommuCore& iommu() { return *pci().iommu(); }
  /// The system calls of userspace (the platform's; each pays the syscall entry cost).
  kernel::Syscalls& sys() { return kernel().syscalls(); }
  /// The simulated process of that name (created on first use).
  kernel::Task& task(const std::string& process) { return kernel().task(process); }
  /// Blocks the calling thread until the kernel has booted.
  void boot() { platform_->wait_until_booted(); }

  /// The device at "bb:dd.f" or "0000:bb:dd.f"; fails the test (and throws) if there is none.
  kernel::pci_dev& dev(const std::string& bdf);
  /// Its group's node, "/dev/vfio/<id>".
  std::string group_path(const std::string& bdf);
  /// Unbinds whatever driver the device has (unbind_store), as a user frees it for another.
  void unbind(const std::string& bdf);
  /// driver_override = `driver`, then drivers_probe; the probe's result.
  int bind(const std::string& bdf, const std::string& driver);
  /// Both of the above: the device goes to vfio-pci.
  int to_vfio_pci(const std::string& bdf);

  /// A counter by its full path ("system.iommu.walks"); ~0 if there is none.
  uint64_t counter(const std::string& path) const;

  // ---- A VFIO user, through the system calls (from a simulated thread) ----
  struct VfioFds {
    int container = -1, group = -1, device = -1;
  };
  /// open the container and `group_path`, SET_CONTAINER, SET_IOMMU(`model`); each call is
  /// expected to succeed.
  VfioFds open_container(kernel::Task& t, const std::string& group_path, unsigned model = VFIO_TYPE1v2_IOMMU);
  /// open_container, then GET_DEVICE_FD for `name` (its result, not checked, in `device`).
  VfioFds open_device(kernel::Task& t, const std::string& group_path, const std::string& name,
                      unsigned model = VFIO_TYPE1v2_IOMMU);
  long set_container(kernel::Task& t, int group, int container);
  long get_device_fd(kernel::Task& t, int group, const std::string& name);
  long map_dma(kernel::Task& t, int container, uint64_t vaddr, uint64_t iova, uint64_t size,
               uint32_t flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
  struct Unmapped {
    long ret;
    uint64_t size;  // what the kernel wrote back
  };
  Unmapped unmap_dma(kernel::Task& t, int container, uint64_t iova, uint64_t size, uint32_t flags = 0);

  stats::Group root{"system"};

 private:
  std::unique_ptr<Platform> platform_;
};

}  // namespace vfiosim::support
