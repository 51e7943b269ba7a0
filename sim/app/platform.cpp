#include "sim/app/platform.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "models/iommu/vtd_defs.h"

namespace vfiosim {

Platform::Platform(const sc_core::sc_module_name& name, const PlatformConfig& config, stats::Group& stats_root,
                   uint64_t seed, TraceWriter* trace)
    : sc_module(name), config_(config) {
  memory_ = std::make_unique<Memory>("memory", config_.memory, stats_root);
  for (const auto& m : config_.dma_masters) {
    masters_.push_back(std::make_unique<DmaMaster>(m.name.c_str(), m, stats_root, seed, trace));
    masters_.back()->port.bind(memory_->port);
  }
  if (config_.boots_kernel) {
    cpu_ = std::make_unique<HostPort>("cpu", stats_root);
    host_bus_ = std::make_unique<SystemBus>("host_bus");
    cpu_->socket.bind(host_bus_->in);
    apic_ = std::make_unique<InterruptController>(stats_root);
    kernel_ = std::make_unique<kernel::Kernel>(*cpu_, *apic_, kernel_params(config_.kernel, config_.memory.size, config_.pci ? &*config_.pci : nullptr), stats_root);
    // What the kernel prints (WARN, pr_warn, dev_warn, lockdep) goes to the report's events.
    kernel::set_kernel_report([this](const std::string& kind, const std::string& message) {
      events_.add(ClockDomain::to_ps(sc_core::sc_time_stamp()), "kernel", "dmesg", {{"level", kind}, {"message", message}});
    });
  }
  if (config_.pci) {
    pci_ = std::make_unique<PciPlatform>(*config_.pci, *kernel_, *host_bus_, *apic_, stats_root, seed, trace);
    SystemBus& bus = *host_bus_;
    bus.out.bind(memory_->port);  // binding 1: host memory, everything not mapped elsewhere
    bus.set_default(1);
    std::vector<kernel::DmarDrhd> dmar;  // the ACPI DMAR table the firmware hands the kernel
    if (!config_.iommus.empty()) {
      // What a unit translated goes to host memory, or back to the root complex when it is a
      // peer's BAR (the PCI windows).
      dma_router_ = std::make_unique<SystemBus>("dma_router");
      dma_router_->out.bind(pci_->rc().translated);  // binding 0: the PCI windows
      dma_router_->out.bind(memory_->port);          // binding 1: host memory
      const auto& rcp = config_.pci->root_complex;
      dma_router_->map(rcp.mmio32_base, rcp.mmio32_size, 0, "MMIO below 4 GiB");
      dma_router_->map(rcp.mmio64_base, rcp.mmio64_size, 0, "MMIO above 4 GiB");
      dma_router_->set_default(1);
      InterruptController& irq = *apic_;
      for (size_t i = 0; i < config_.iommus.size(); ++i) {
        const auto& unit = config_.iommus[i];
        iommus_.push_back(std::make_unique<iommu::VtdIommu>(unit.name.c_str(), unit.params, stats_root, seed, trace,
                                                            &events_));
        iommu::VtdIommu& u = *iommus_.back();
        pci_->rc().memory.bind(u.upstream);  // binding i of the root complex's DMA output
        u.memory.bind(dma_router_->in);
        bus.out.bind(u.regs);  // binding 2 + i: the unit's register page
        bus.map(unit.params.base, vtd::kRegSize, static_cast<unsigned>(2 + i), "DMAR registers of " + unit.name);
        u.on_interrupt([&irq](uint16_t rid, uint64_t a, uint32_t d, uint64_t t) { irq.deliver(rid, a, d, t); });
        kernel::DmarDrhd drhd;
        drhd.reg_base = unit.params.base;
        drhd.include_all = unit.params.scope.empty();
        for (const auto& text : unit.params.scope) {
          const uint8_t devfn = Bdf::parse(text)->devfn();
          drhd.scope.push_back(devfn);
          pci_->rc().route_memory(devfn, static_cast<unsigned>(i));
        }
        if (drhd.include_all) pci_->rc().set_default_memory(static_cast<unsigned>(i));
        dmar.push_back(drhd);
      }
    } else {
      pci_->rc().memory.bind(memory_->port);
    }
    pci_->setup_kernel(config_.kernel, dmar, &events_);
  } else if (host_bus_) {
    host_bus_->out.bind(memory_->port);  // the CPU reaches memory and nothing else
    host_bus_->set_default(0);
  }
  SC_HAS_PROCESS(Platform);
  SC_THREAD(boot);
}

// The kernel's pages sit at the top of the memory below the PCI hole (ECAM and the 32-bit MMIO
// window), where the CPU reaches memory rather than the root complex; userspace's pages below them.
kernel::KernelParams Platform::kernel_params(const KernelConfig& kc, uint64_t memory_size, const PciConfig* pci) {
  uint64_t top = memory_size;
  if (pci) top = std::min({top, pci->root_complex.ecam_base, pci->root_complex.mmio32_base});
  if (kc.memory > top) throw std::runtime_error("kernel memory does not fit below the PCI hole");
  kernel::KernelParams p;
  p.cpu_mhz = kc.cpu_mhz;
  p.costs = kc.costs;
  p.memory_base = top - kc.memory;
  p.memory_size = kc.memory;
  p.user_size = std::min(kc.user_memory, p.memory_base);
  p.user_base = p.memory_base - p.user_size;
  return p;
}

void Platform::boot() {
  if (kernel_) kernel_->boot();
  booted_ = true;
  booted_event_.notify(sc_core::SC_ZERO_TIME);
}

nlohmann::json Platform::describe() const {
  nlohmann::json out = nlohmann::json::object();
  if (pci_ && booted_) out["pci"] = pci_->describe();
  for (const auto& u : iommus_) {
    const auto& p = u->params();
    char cap[32], ecap[32];
    std::snprintf(cap, sizeof cap, "0x%llx", static_cast<unsigned long long>(p.cap()));
    std::snprintf(ecap, sizeof ecap, "0x%llx", static_cast<unsigned long long>(p.ecap()));
    nlohmann::json d = {{"base", p.base}, {"cap", cap}, {"ecap", ecap}, {"translation", u->translation_enabled()}};
    if (!p.scope.empty()) d["scope"] = p.scope;
    out[u->basename()] = d;
  }
  return out;
}

void Platform::exit_process(const std::string& process) {
  if (kernel_) kernel_->exit_task(process);
}

Platform::~Platform() {
  kernel::set_kernel_report(nullptr);
  pci_.reset();  // its subsystems hold on to the kernel's services
  kernel_.reset();
}

void Platform::shutdown() {
  if (kernel_) kernel_->shutdown();
}

std::vector<std::string> Platform::leaks() { return kernel_ ? kernel_->leaks() : std::vector<std::string>{}; }

void Platform::wait_until_booted() {
  while (!booted_) sc_core::wait(booted_event_);
}

DmaMaster* Platform::master(const std::string& name) {
  for (auto& m : masters_)
    if (m->params().name == name) return m.get();
  return nullptr;
}

void Platform::finalize(const sc_core::sc_time& end) {
  memory_->finalize(end);
  if (pci_) pci_->finalize(ClockDomain::to_ps(end));
}

}  // namespace vfiosim
