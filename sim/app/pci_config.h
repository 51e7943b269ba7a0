// The /platform/pci section: the root complex, system-wide payload settings, and the tree of
// root ports, switches and endpoints, as written (spec) and resolved (typed). Validation checks
// what the hardware and Linux's depth-first numbering make impossible: duplicate BDFs, a BDF whose
// bus is not the one enumeration will give it, a device number other than 0 below a PCIe port,
// bus numbers past 255.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/pci/dma_engine.h"
#include "models/pci/pcie_link.h"
#include "models/pci/root_complex.h"
#include "sim/config/spec.h"

namespace vfiosim {

struct Bdf {
  uint8_t bus = 0;
  uint8_t device = 0;
  uint8_t function = 0;
  uint8_t devfn() const { return static_cast<uint8_t>(device << 3 | function); }
  std::string str() const;  // "0000:bb:dd.f"
  static std::optional<Bdf> parse(const std::string& text);  // "bb:dd.f" or "0000:bb:dd.f"
  /// VF `n` (0-based) of the SR-IOV PF at `pf`: routing ID pf + offset + n * stride, on the PF's
  /// bus; nullopt past devfn 255 (VFs on another bus are not modelled).
  static std::optional<Bdf> vf_of(const Bdf& pf, unsigned offset, unsigned stride, unsigned n);
};

struct PciEndpointConfig {
  Bdf bdf;
  std::string model;  // "dma-engine"
  pci::DmaEngineParams engine;
  uint64_t bar0_size = pci::dmae::kBar0Size;
};

struct PciPortConfig;

struct PciSwitchConfig {
  Bdf bdf;  // the upstream port
  std::vector<PciPortConfig> downstream_ports;
};

/// A PCIe-to-PCI bridge and the conventional PCI devices on its secondary bus.
struct PciBridgeConfig {
  Bdf bdf;
  std::vector<PciEndpointConfig> devices;
};

struct PciPortConfig {
  Bdf bdf;
  bool acs = true;
  uint16_t acs_caps = 0x1F;  // PCI_ACS_* bits of the capability (SV TB RR CR UF)
  pci::LinkParams link;
  std::vector<PciEndpointConfig> endpoints;
  std::optional<PciSwitchConfig> switch_below;  // a switch instead of endpoints
  std::optional<PciBridgeConfig> bridge_below;  // or a PCIe-to-PCI bridge
};

struct PciConfig {
  pci::RootComplexParams root_complex;
  uint32_t mps = 256;
  uint32_t mrrs = 512;
  std::vector<std::string> disable_acs_redir;  // kernel parameter, as "0000:bb:dd.f"
  std::vector<PciPortConfig> root_ports;
  std::vector<PciEndpointConfig> rc_endpoints;  // root complex integrated endpoints on bus 0

  static std::shared_ptr<const config::ObjectSpec> spec();
  static PciConfig from(const config::json& resolved);
  /// Every endpoint, in enumeration order.
  std::vector<const PciEndpointConfig*> endpoints() const;
  /// The endpoint at `bdf`, or the SR-IOV PF whose VF `bdf` is.
  const PciEndpointConfig* find_endpoint(const std::string& bdf) const;
};

}  // namespace vfiosim
