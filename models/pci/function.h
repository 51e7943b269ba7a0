// One PCI function as the hardware sees it: its config space, its BARs, its place in the tree
// (devfn on a bus), and the reactions every function shares — Function Level Reset through the
// PCIe Device Control register. Device models derive from it and implement BAR accesses.
#pragma once

#include <linux/pci_regs.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

#include "models/pci/config_builder.h"
#include "models/pci/config_space.h"
#include "models/pci/decode.h"

namespace vfiosim::pci {

class PciBus;
class PcieLink;

class PciFunction {
 public:
  PciFunction(std::string name, uint8_t devfn, uint32_t config_size = kConfigSizeExpress);
  virtual ~PciFunction() = default;
  PciFunction(const PciFunction&) = delete;
  PciFunction& operator=(const PciFunction&) = delete;

  const std::string& pci_name() const { return name_; }
  uint8_t devfn() const { return devfn_; }
  ConfigSpace& config() { return config_; }
  const ConfigSpace& config() const { return config_; }
  BarSpecs& bars() { return bars_; }
  const BarSpecs& bars() const { return bars_; }
  bool is_bridge() const;

  /// The bus this function sits on (set when it is attached to the tree).
  PciBus* bus() const { return bus_; }
  void attach(PciBus* bus) { bus_ = bus; }
  /// Requester ID from the current bus number (firmware/OS may renumber buses).
  uint16_t rid() const;
  /// The requester ID the function's DMA carries (a quirky device may use another function's).
  virtual uint16_t dma_rid() const { return rid(); }
  /// Command.MASTER in D0: the function may issue requests (DMA and MSI).
  bool bus_master() const;
  /// The PM capability's PowerState (0 = D0 ... 3 = D3hot); D0 without a PM capability. Outside
  /// D0 a function decodes no memory and masters nothing; D3hot -> D0 without No_Soft_Reset
  /// resets it (PCI PM 1.2 §5.4, "internal reset").
  unsigned power_state() const { return pm_cap_ ? config_.get(pm_cap_ + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK : 0; }
  void set_pm_cap(uint16_t offset) { pm_cap_ = offset; }
  uint16_t pm_cap() const { return pm_cap_; }

  /// The PCIe Device Control value that governs this function's payload sizes (MPS, MRRS); a
  /// VF's fields are RsvdP and its PF's apply. 0 without a PCIe capability.
  virtual uint32_t device_control() const { return pcie_cap_ ? config_.get(pcie_cap_ + PCI_EXP_DEVCTL, 2) : 0; }

  /// Offset of the PCI Express capability, 0 if none.
  uint16_t pcie_cap() const { return pcie_cap_; }
  /// Records where the builder put the PCIe capability (before finish_config()).
  void set_pcie_cap(uint16_t offset) { pcie_cap_ = offset; }
  /// Offset of the MSI capability of a port (0 if none; the DMA engine keeps its own).
  uint16_t msi_cap() const { return msi_cap_off_; }
  void set_msi_cap(uint16_t offset) { msi_cap_off_ = offset; }
  /// Offset of the AER capability, 0 if none.
  uint16_t aer_cap() const { return aer_cap_; }
  void set_aer_cap(uint16_t offset) { aer_cap_ = offset; }

  /// An SR-IOV VF's PF (nullptr for any other function).
  virtual const PciFunction* physfn() const { return nullptr; }
  /// False while the function does not exist (an SR-IOV VF before VF Enable): it answers no
  /// config request and decodes nothing.
  virtual bool present() const { return true; }
  /// The memory BAR that claims [addr, addr+len): the function's own BARs gated by Command.MEM
  /// (a VF decodes through its PF's SR-IOV capability instead).
  /// The expansion ROM decodes as BAR 6 (PCI_ROM_RESOURCE) while Command.MEM and the ROM BAR's
  /// enable bit are both set.
  virtual std::optional<BarHit> decode_memory(uint64_t addr, uint64_t len) const {
    if (power_state()) return std::nullopt;
    if (auto hit = decode_bar(config_, bars_, addr, len, false)) return hit;
    return rom_size_ ? decode_rom(config_, PCI_ROM_ADDRESS, rom_size_, addr, len) : std::nullopt;
  }
  /// Expansion ROM BAR size (0: none); the builder lays out the register.
  void set_rom_size(uint32_t size) { rom_size_ = size; }
  uint32_t rom_size() const { return rom_size_; }

  /// A memory (or I/O) access that hit BAR `bar` at `offset`, arriving at `arrival_ps` (the call
  /// happens at the requester's current time; effects that start work schedule it for the
  /// arrival). May add to `delay` for the device's own latency.
  virtual tlm::tlm_response_status bar_access(int bar, uint64_t offset, bool write, uint8_t* data, unsigned len,
                                              uint64_t arrival_ps, sc_core::sc_time& delay);

  /// Function Level Reset: config space back to its power-on image, then on_reset().
  void function_level_reset();
  uint64_t resets() const { return resets_; }

  /// Call once the config space is laid out: records the power-on image and hooks writes.
  void finish_config();

 protected:
  virtual void on_config_write(uint32_t offset, unsigned len, uint32_t old_value, uint32_t new_value) {}
  virtual void on_reset() {}

 private:
  std::string name_;
  uint8_t devfn_;
  ConfigSpace config_;
  BarSpecs bars_{};
  PciBus* bus_ = nullptr;
  uint16_t pcie_cap_ = 0;
  uint16_t aer_cap_ = 0;
  uint16_t pm_cap_ = 0;
  uint16_t msi_cap_off_ = 0;
  uint32_t rom_size_ = 0;
  std::vector<uint8_t> power_on_;
  uint64_t resets_ = 0;
};

/// A type 1 function (root port, switch port, PCI bridge): owns its secondary bus.
class PciBridge : public PciFunction {
 public:
  PciBridge(std::string name, uint8_t devfn, PortType type);
  ~PciBridge() override;

  PortType port_type() const { return type_; }
  PciBus& secondary() { return *secondary_; }
  const PciBus& secondary() const { return *secondary_; }
  /// Offset of the ACS capability, 0 if none.
  uint16_t acs_cap() const { return acs_cap_; }
  void set_acs_cap(uint16_t off) { acs_cap_ = off; }
  /// Secondary Bus Reset (Bridge Control bit 6) asserted: every function below goes back to its
  /// power-on state, bridges below included.
  void on_config_write(uint32_t offset, unsigned len, uint32_t old_value, uint32_t new_value) override;
  uint64_t bus_resets() const { return bus_resets_; }

 private:
  void reset_below(PciBus& bus);
  uint64_t bus_resets_ = 0;
  PortType type_;
  std::unique_ptr<PciBus> secondary_;
  uint16_t acs_cap_ = 0;
};

/// A bus: the functions on it in devfn order, the bridge above it (none for the root bus), and
/// the link that connects it to that bridge (root and downstream ports have one; a switch's
/// internal bus and conventional PCI buses do not).
class PciBus {
 public:
  explicit PciBus(PciBridge* bridge) : bridge_(bridge) {}

  PciBridge* bridge() const { return bridge_; }
  /// The bus number: the bridge's Secondary Bus Number register, 0 for the root bus.
  uint8_t number() const;
  /// Every function attached, present or not (SR-IOV VFs are attached before they exist).
  const std::vector<PciFunction*>& functions() const { return functions_; }
  /// The present function at `devfn`, or nullptr.
  PciFunction* function_at(uint8_t devfn) const;
  void add(PciFunction* fn);

  PcieLink* link() const { return link_; }
  void set_link(PcieLink* link) { link_ = link; }
  /// True for the internal bus of a switch (its bridge is an upstream port).
  bool is_switch_internal() const { return bridge_ && bridge_->port_type() == PortType::UpstreamPort; }

 private:
  PciBridge* bridge_;
  std::vector<PciFunction*> functions_;
  PcieLink* link_ = nullptr;
};

}  // namespace vfiosim::pci
