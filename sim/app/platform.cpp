#include "sim/app/platform.h"

namespace vfiosim {

Platform::Platform(const sc_core::sc_module_name& name, const PlatformConfig& config, stats::Group& stats_root,
                   uint64_t seed, TraceWriter* trace)
    : sc_module(name), config_(config) {
  memory_ = std::make_unique<Memory>("memory", config_.memory, stats_root);
  for (const auto& m : config_.dma_masters) {
    masters_.push_back(std::make_unique<DmaMaster>(m.name.c_str(), m, stats_root, seed, trace));
    masters_.back()->port.bind(memory_->port);
  }
  if (config_.pci) {
    pci_ = std::make_unique<PciPlatform>(*config_.pci, stats_root, seed, trace);
    pci_->rc().memory.bind(memory_->port);
  }
  SC_HAS_PROCESS(Platform);
  SC_THREAD(boot);
}

void Platform::boot() {
  if (pci_) pci_->boot();
  booted_ = true;
  booted_event_.notify(sc_core::SC_ZERO_TIME);
}

nlohmann::json Platform::describe() const {
  nlohmann::json out = nlohmann::json::object();
  if (pci_ && booted_) out["pci"] = pci_->describe();
  return out;
}

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
