#include "vfio/linux/drivers/pci/pci_acs.h"

#include <linux/pci_regs.h>

#include <algorithm>

#include "models/pci/dma_engine_regs.h"

namespace vfiosim::kernel {

namespace {
bool is_root_bus(const pci_bus* bus) { return bus->parent == nullptr; }
uint16_t dev_id(const pci_dev& d) { return PCI_DEVID(d.bus->number, static_cast<uint8_t>(d.devfn)); }
}  // namespace

// pci_std_enable_acs(): source validation, P2P request/completion redirect, upstream forwarding.
void pci_enable_acs(PciCore& pci, pci_dev& dev) {
  if (!dev.acs_cap) return;
  const uint32_t cap = pci.read_config(dev, dev.acs_cap + PCI_ACS_CAP, 2);
  uint32_t ctrl = pci.read_config(dev, dev.acs_cap + PCI_ACS_CTRL, 2);
  ctrl |= cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
  // pci_disable_acs_redir(): the disable_acs_redir= parameter names this device.
  const auto& off = pci.settings().disable_acs_redir;
  if (std::find(off.begin(), off.end(), dev.name()) != off.end())
    ctrl &= ~static_cast<uint32_t>(PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
  pci.write_config(dev, dev.acs_cap + PCI_ACS_CTRL, 2, ctrl);
}

namespace {
// pci_acs_flags_enabled(): controls missing from the capability count as hard-wired on, except EC.
bool pci_acs_flags_enabled(PciCore& pci, pci_dev& dev, uint16_t acs_flags) {
  if (!dev.acs_cap) return false;
  const uint32_t cap = pci.read_config(dev, dev.acs_cap + PCI_ACS_CAP, 2);
  acs_flags &= static_cast<uint16_t>(cap | PCI_ACS_EC);
  const uint32_t ctrl = pci.read_config(dev, dev.acs_cap + PCI_ACS_CTRL, 2);
  return (ctrl & acs_flags) == acs_flags;
}
}  // namespace

// pci_acs_enabled() (no device-specific quirks modelled).
bool pci_acs_enabled(PciCore& pci, pci_dev& dev, uint16_t acs_flags) {
  if (!dev.is_pcie()) return false;
  switch (dev.pcie_type()) {
    case PCI_EXP_TYPE_PCIE_BRIDGE:
    case PCI_EXP_TYPE_PCI_BRIDGE:
    case PCI_EXP_TYPE_RC_EC:
      return false;
    case PCI_EXP_TYPE_DOWNSTREAM:
    case PCI_EXP_TYPE_ROOT_PORT:
      return pci_acs_flags_enabled(pci, dev, acs_flags);
    case PCI_EXP_TYPE_ENDPOINT:
    case PCI_EXP_TYPE_UPSTREAM:
    case PCI_EXP_TYPE_LEG_END:
    case PCI_EXP_TYPE_RC_END:
      if (!dev.multifunction) break;
      return pci_acs_flags_enabled(pci, dev, acs_flags);
  }
  return true;
}

// pci_acs_path_enabled(): every hop from `start` up to the root bus (end == nullptr) isolates.
bool pci_acs_path_enabled(PciCore& pci, pci_dev& start, pci_dev* end, uint16_t acs_flags) {
  pci_dev* parent = &start;
  pci_dev* dev;
  do {
    dev = parent;
    if (!pci_acs_enabled(pci, *dev, acs_flags)) return false;
    if (is_root_bus(dev->bus)) return end == nullptr;
    parent = dev->bus->self;
  } while (dev != end);
  return true;
}

// quirk_dma_func1_alias(): devices that DMA with function 1's requester ID as well.
void pci_apply_dma_alias_quirks(pci_dev& dev) {
  if (dev.vendor == pci::dmae::kVendorId && dev.device == pci::dmae::kDeviceIdFunc1Alias && dev.func() == 0)
    dev.dma_alias_mask.set((dev.devfn & ~7u) | 1);
}

int pci_for_each_dma_alias(pci_dev& dev, const std::function<int(pci_dev&, uint16_t)>& fn) {
  int ret = fn(dev, dev_id(dev));  // pci_real_dma_dev() is the device itself here
  if (ret) return ret;
  for (unsigned devfn = 0; devfn < 256; ++devfn)
    if (dev.dma_alias_mask.test(devfn)) {
      ret = fn(dev, PCI_DEVID(dev.bus->number, static_cast<uint8_t>(devfn)));
      if (ret) return ret;
    }
  for (pci_bus* bus = dev.bus; !is_root_bus(bus); bus = bus->parent) {
    if (!bus->self) continue;
    pci_dev& tmp = *bus->self;
    if (tmp.is_pcie()) {
      switch (tmp.pcie_type()) {
        case PCI_EXP_TYPE_ROOT_PORT:
        case PCI_EXP_TYPE_UPSTREAM:
        case PCI_EXP_TYPE_DOWNSTREAM:
          continue;
        case PCI_EXP_TYPE_PCI_BRIDGE:  // takes ownership: (secondary bus, 00.0)
          ret = fn(tmp, PCI_DEVID(tmp.subordinate->number, 0));
          if (ret) return ret;
          continue;
        case PCI_EXP_TYPE_PCIE_BRIDGE:
          ret = fn(tmp, dev_id(tmp));
          if (ret) return ret;
          continue;
      }
    } else {
      ret = fn(tmp, dev_id(tmp));
      if (ret) return ret;
    }
  }
  return ret;
}

bool pci_devs_are_dma_aliases(const pci_dev& a, const pci_dev& b) {
  if (a.bus != b.bus) return false;
  return a.dma_alias_mask.test(b.devfn) || b.dma_alias_mask.test(a.devfn);
}

}  // namespace vfiosim::kernel
