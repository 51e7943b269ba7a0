#include "models/pci/function.h"

#include <linux/pci_regs.h>

#include <algorithm>

#include "models/pci/pcie_extension.h"

namespace vfiosim::pci {

PciFunction::PciFunction(std::string name, uint8_t devfn, uint32_t config_size)
    : name_(std::move(name)), devfn_(devfn), config_(config_size) {}

bool PciFunction::is_bridge() const {
  return (config_.get(PCI_HEADER_TYPE, 1) & 0x7F) == PCI_HEADER_TYPE_BRIDGE;
}

uint16_t PciFunction::rid() const { return make_rid(bus_ ? bus_->number() : 0, devfn_); }

bool PciFunction::bus_master() const { return !power_state() && (config_.get(PCI_COMMAND, 2) & PCI_COMMAND_MASTER); }

tlm::tlm_response_status PciFunction::bar_access(int, uint64_t, bool, uint8_t*, unsigned, uint64_t,
                                                sc_core::sc_time&) {
  return tlm::TLM_ADDRESS_ERROR_RESPONSE;
}

void PciFunction::finish_config() {
  power_on_ = config_.snapshot();
  config_.observe([this](uint32_t off, unsigned len, uint32_t written, uint32_t old_value, uint32_t new_value) {
    // Initiate FLR: Device Control bit 15 of an endpoint. The bit is not stored (reads 0), so
    // look at the value as written.
    const uint32_t devctl = pcie_cap_ + PCI_EXP_DEVCTL;
    if (pcie_cap_ && !is_bridge() && off <= devctl && devctl + 2 <= off + len) {
      const uint32_t cap = config_.get(pcie_cap_ + PCI_EXP_DEVCAP, 4);
      if ((cap & PCI_EXP_DEVCAP_FLR) && ((written >> (8 * (devctl - off))) & PCI_EXP_DEVCTL_BCR_FLR)) {
        function_level_reset();
        return;
      }
    }
    // D3hot -> D0 without No_Soft_Reset: the function comes back in its power-on state.
    const uint32_t pmcsr = pm_cap_ + PCI_PM_CTRL;
    if (pm_cap_ && off <= pmcsr && pmcsr + 2 <= off + len) {
      const unsigned shift = 8 * (pmcsr - off);
      const uint32_t was = (old_value >> shift) & 0xFFFF, now = (new_value >> shift) & 0xFFFF;
      if ((was & PCI_PM_CTRL_STATE_MASK) == 3 && !(now & PCI_PM_CTRL_STATE_MASK) && !(was & PCI_PM_CTRL_NO_SOFT_RESET)) {
        function_level_reset();
        return;
      }
    }
    on_config_write(off, len, old_value, new_value);
  });
}

void PciFunction::function_level_reset() {
  ++resets_;
  config_.restore(power_on_);
  on_reset();
}

PciBridge::PciBridge(std::string name, uint8_t devfn, PortType type)
    : PciFunction(std::move(name), devfn), type_(type), secondary_(std::make_unique<PciBus>(this)) {}

PciBridge::~PciBridge() = default;

void PciBridge::on_config_write(uint32_t offset, unsigned len, uint32_t old_value, uint32_t new_value) {
  if (offset > PCI_BRIDGE_CONTROL || offset + len <= PCI_BRIDGE_CONTROL) return;
  const unsigned shift = 8 * (PCI_BRIDGE_CONTROL - offset);
  const bool was = (old_value >> shift) & PCI_BRIDGE_CTL_BUS_RESET;
  const bool now = (new_value >> shift) & PCI_BRIDGE_CTL_BUS_RESET;
  if (!was && now) {
    ++bus_resets_;
    reset_below(*secondary_);
  }
}

void PciBridge::reset_below(PciBus& bus) {
  for (PciFunction* f : bus.functions()) {
    if (!f->present()) continue;
    if (f->is_bridge()) reset_below(static_cast<PciBridge*>(f)->secondary());
    f->function_level_reset();
  }
}

uint8_t PciBus::number() const {
  return bridge_ ? static_cast<uint8_t>(bridge_->config().get(PCI_SECONDARY_BUS, 1)) : 0;
}

PciFunction* PciBus::function_at(uint8_t devfn) const {
  for (auto* f : functions_)
    if (f->devfn() == devfn && f->present()) return f;
  return nullptr;
}

void PciBus::add(PciFunction* fn) {
  fn->attach(this);
  functions_.insert(std::upper_bound(functions_.begin(), functions_.end(), fn,
                                     [](const PciFunction* a, const PciFunction* b) { return a->devfn() < b->devfn(); }),
                    fn);
}

}  // namespace vfiosim::pci
