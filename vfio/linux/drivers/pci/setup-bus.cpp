// Resource assignment and bus settings: a simplified port of drivers/pci/setup-bus.c (size each
// bridge window bottom-up, place resources largest-alignment first top-down, program BARs and
// windows) and of pcie_bus_configure_settings() in its default "safe" mode (each hierarchy below
// a root port runs at the smallest Max_Payload_Size any of its functions supports).
//
// Simplifications, stated: no I/O window (I/O BARs stay unassigned), 32-bit prefetchable BARs go
// to the non-prefetchable window, windows are sized exactly rather than with the kernel's
// additional-size heuristics, and bridges get Memory and Bus Master enable at boot (the kernel
// enables them when the first device below is enabled).
#include <linux/pci_regs.h>

#include <algorithm>
#include <stdexcept>

#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

namespace {

constexpr uint64_t kWindowAlign = 1ULL << 20;  // bridge memory windows: 1 MiB granularity

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct Item {
  pci_dev* dev;
  int index;  // resource index
  uint64_t size;
  uint64_t align;
};


// Sizes the windows every bridge below `bus` needs; returns the bytes `bus` needs in each window.
std::pair<uint64_t, uint64_t> size_bus(pci_bus* bus, std::vector<Item>& mem, std::vector<Item>& pref) {
  for (pci_dev* dev : bus->devices) {
    const int last = dev->is_bridge() ? 2 : PCI_ROM_RESOURCE + 1;  // an endpoint's ROM goes in the memory window
    for (int i = 0; i < last; ++i) {
      const resource& r = dev->res[i];
      if (!(r.flags & IORESOURCE_MEM)) continue;
      (is_pref64(r) ? pref : mem).push_back({dev, i, r.size(), r.size()});
    }
    // SR-IOV: each IOV resource holds TotalVFs VF BARs, aligned to one VF BAR
    // (pci_sriov_resource_alignment).
    for (int i = PCI_IOV_RESOURCES; dev->is_physfn && i <= PCI_IOV_RESOURCE_END; ++i) {
      const resource& r = dev->res[i];
      if (!(r.flags & IORESOURCE_MEM)) continue;
      (is_pref64(r) ? pref : mem).push_back({dev, i, r.size(), pci_iov_resource_size(*dev, i)});
    }
    if (dev->is_bridge() && dev->subordinate) {
      std::vector<Item> cm, cp;
      const auto [m, p] = size_bus(dev->subordinate, cm, cp);
      resource& wm = dev->res[PCI_BRIDGE_RESOURCES + 1];
      resource& wp = dev->res[PCI_BRIDGE_RESOURCES + 2];
      wm = {0, align_up(m, kWindowAlign) - 1, m ? IORESOURCE_MEM | IORESOURCE_UNSET : 0};
      wp = {0, align_up(p, kWindowAlign) - 1,
            p ? IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64 | IORESOURCE_UNSET : 0};
      if (m) mem.push_back({dev, PCI_BRIDGE_RESOURCES + 1, wm.size(), kWindowAlign});
      if (p) pref.push_back({dev, PCI_BRIDGE_RESOURCES + 2, wp.size(), kWindowAlign});
    }
  }
  auto need = [](std::vector<Item>& items) {
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.align > b.align; });
    uint64_t off = 0;
    for (const auto& it : items) off = align_up(off, it.align) + it.size;
    return off;
  };
  return {need(mem), need(pref)};
}

}  // namespace

void PciCore::size_and_assign() {
  // Assign one bus: place its items from `base` in the sorted order, then recurse into bridges.
  struct Assigner {
    PciCore& core;
    void assign(pci_bus* bus, uint64_t mem_base, uint64_t pref_base) {
      std::vector<Item> mem, pref;
      size_bus(bus, mem, pref);
      place(mem, mem_base);
      place(pref, pref_base);
      for (pci_dev* dev : bus->devices) {
        if (!dev->is_bridge() || !dev->subordinate) continue;
        program_windows(*dev);
        const resource& wm = dev->res[PCI_BRIDGE_RESOURCES + 1];
        const resource& wp = dev->res[PCI_BRIDGE_RESOURCES + 2];
        assign(dev->subordinate, wm.start, wp.start);
        const uint32_t cmd = core.read_config(*dev, PCI_COMMAND, 2);
        core.write_config(*dev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
      }
    }
    void place(std::vector<Item>& items, uint64_t base) {
      uint64_t at = base;
      for (const auto& it : items) {
        at = align_up(at, it.align);
        resource& r = it.dev->res[it.index];
        r.start = at;
        r.end = at + it.size - 1;
        r.flags &= ~IORESOURCE_UNSET;
        at += it.size;
        if (it.index < PCI_ROM_RESOURCE) program_bar(*it.dev, it.index);
        else if (it.index >= PCI_IOV_RESOURCES && it.index <= PCI_IOV_RESOURCE_END)
          pci_iov_update_resource(core, *it.dev, it.index);
      }
    }
    void program_bar(pci_dev& dev, int i) { core.pci_update_bar(dev, PCI_BASE_ADDRESS_0 + 4 * i, dev.res[i]); }
    void program_windows(pci_dev& bridge) {  // pci_setup_bridge_mmio{,_pref}
      const resource& wm = bridge.res[PCI_BRIDGE_RESOURCES + 1];
      if (wm.flags) {
        core.write_config(bridge, PCI_MEMORY_BASE, 2, static_cast<uint32_t>(wm.start >> 16) & 0xfff0);
        core.write_config(bridge, PCI_MEMORY_LIMIT, 2, static_cast<uint32_t>(wm.end >> 16) & 0xfff0);
      } else {  // disabled: base above limit
        core.write_config(bridge, PCI_MEMORY_BASE, 2, 0xfff0);
        core.write_config(bridge, PCI_MEMORY_LIMIT, 2, 0);
      }
      const resource& wp = bridge.res[PCI_BRIDGE_RESOURCES + 2];
      if (wp.flags) {
        core.write_config(bridge, PCI_PREF_MEMORY_BASE, 2, static_cast<uint32_t>(wp.start >> 16) & 0xfff0);
        core.write_config(bridge, PCI_PREF_MEMORY_LIMIT, 2, static_cast<uint32_t>(wp.end >> 16) & 0xfff0);
        core.write_config(bridge, PCI_PREF_BASE_UPPER32, 4, static_cast<uint32_t>(wp.start >> 32));
        core.write_config(bridge, PCI_PREF_LIMIT_UPPER32, 4, static_cast<uint32_t>(wp.end >> 32));
      } else {
        core.write_config(bridge, PCI_PREF_MEMORY_BASE, 2, 0xfff0);
        core.write_config(bridge, PCI_PREF_MEMORY_LIMIT, 2, 0);
        core.write_config(bridge, PCI_PREF_BASE_UPPER32, 4, 0xffffffff);
        core.write_config(bridge, PCI_PREF_LIMIT_UPPER32, 4, 0);
      }
    }
  };

  std::vector<Item> mem, pref;
  const auto [m, p] = size_bus(root_.get(), mem, pref);
  if (m > bridge_.mmio32_size)
    throw std::runtime_error("PCI: 32-bit MMIO window too small: need " + std::to_string(m) + " bytes");
  if (p > bridge_.mmio64_size)
    throw std::runtime_error("PCI: 64-bit MMIO window too small: need " + std::to_string(p) + " bytes");
  Assigner{*this}.assign(root_.get(), bridge_.mmio32_base, bridge_.mmio64_base);
}

void PciCore::configure_mps(const BusSettings& s) {
  auto encode = [](uint32_t bytes) {
    uint32_t n = 0;
    while ((128u << n) < bytes && n < 5) ++n;
    return n;
  };
  // Every function below (and including) `dev`.
  std::vector<pci_dev*> subtree;
  auto collect = [&](auto&& self, pci_dev* dev) -> void {
    subtree.push_back(dev);
    if (dev->subordinate)
      for (pci_dev* child : dev->subordinate->devices) self(self, child);
  };
  for (pci_dev* top : root_->devices) {
    subtree.clear();
    collect(collect, top);
    uint32_t mps = encode(s.mps);
    for (pci_dev* d : subtree)
      if (d->is_pcie()) mps = std::min(mps, d->pcie_mpss);
    const uint32_t mrrs = encode(s.mrrs);
    for (pci_dev* d : subtree) {
      if (!d->is_pcie()) continue;
      const int reg = d->pcie_cap + PCI_EXP_DEVCTL;
      uint32_t ctl = read_config(*d, reg, 2);
      ctl = (ctl & ~uint32_t{PCI_EXP_DEVCTL_PAYLOAD}) | (mps << 5);
      if (!d->is_bridge()) ctl = (ctl & ~uint32_t{PCI_EXP_DEVCTL_READRQ}) | (mrrs << 12);
      write_config(*d, reg, 2, ctl);
    }
  }
}

}  // namespace vfiosim::kernel
