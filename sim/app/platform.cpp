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
}

DmaMaster* Platform::master(const std::string& name) {
  for (auto& m : masters_)
    if (m->params().name == name) return m.get();
  return nullptr;
}

void Platform::finalize(const sc_core::sc_time& end) { memory_->finalize(end); }

}  // namespace vfiosim
