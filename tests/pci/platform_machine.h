// A booted-on-demand PCI platform for kernel-side PCI tests: memory, the CPU with its address
// decoder and local APICs, a Kernel, and the PciPlatform built from a written /platform/pci
// section (resolved through the scenario schema) with its subsystems registered into that
// kernel — without the iommu layer and VFIO, which these tests do not need. boot() runs the
// kernel's initcalls (the test decides when, and may drive the PCI core by hand instead); groups()
// gives the IOMMU groups formed as sets of "bb:dd.f" names.
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "models/cpu/host_port.h"
#include "models/cpu/interrupt_controller.h"
#include "models/cpu/system_bus.h"
#include "models/memory/memory.h"
#include "sim/app/pci_platform.h"
#include "sim/app/platform.h"
#include "sim/config/spec.h"
#include "vfio/linux/kernel/kernel.h"

namespace vfiosim::pcitest {

using Groups = std::set<std::set<std::string>>;

struct PlatformMachine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<HostPort> cpu;
  std::unique_ptr<SystemBus> host_bus;
  std::unique_ptr<InterruptController> apic;
  std::unique_ptr<kernel::Kernel> kernel;
  std::unique_ptr<PciPlatform> pci;
  explicit PlatformMachine(const nlohmann::json& written, uint64_t memory_size = 1ULL << 32) {
    MemoryParams mp;
    mp.size = memory_size;
    memory = std::make_unique<Memory>("memory", mp, root);
    const PciConfig config = PciConfig::from(config::resolve_document(PciConfig::spec(), written));
    cpu = std::make_unique<HostPort>("cpu", root);
    host_bus = std::make_unique<SystemBus>("host_bus");
    cpu->socket.bind(host_bus->in);
    apic = std::make_unique<InterruptController>(root);
    kernel = std::make_unique<kernel::Kernel>(*cpu, *apic, Platform::kernel_params(KernelConfig{}, memory_size, &config), root);
    pci = std::make_unique<PciPlatform>(config, *kernel, *host_bus, *apic, root, 1, nullptr);
    host_bus->out.bind(memory->port);
    host_bus->set_default(1);
    pci->rc().memory.bind(memory->port);
  }
  ~PlatformMachine() {
    pci.reset();
    kernel.reset();
  }
  /// do_initcalls(): enumerate, form groups, bind the boot drivers. From a simulated thread.
  void boot() { kernel->boot(); }
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
