// Rescanning a PCI bus (drivers/pci/probe.c pci_rescan_bus, v6.1): what /sys/bus/pci/rescan and a
// device's `rescan` attribute do after a removal. Functions the kernel does not know yet are set
// up as at boot; a bridge found again keeps the bus numbers and windows its registers still hold
// (pci_scan_bridge's pass over a configured bridge, pci_read_bridge_bases). The new functions'
// BARs then go into free space of the windows above them (pci_assign_unassigned_bus_resources,
// first fit at each resource's alignment), take the bus's Max_Payload_Size (pci_configure_mps),
// and are returned in the order pci_bus_add_devices() adds them (parents first).
// Not ported: a bridge with no bus numbers (a hot-added one that needs new ones), window
// resizing or reallocation, ARI function chains found only on rescan, I/O BARs.
#include <linux/pci_regs.h>

#include <algorithm>
#include <cstdio>

#include "vfio/linux/kernel/sync.h"
#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

namespace {

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool assigned(const resource& r) { return (r.flags & IORESOURCE_MEM) && !(r.flags & IORESOURCE_UNSET); }

// The resource indices a function can own: BARs and ROM, SR-IOV BARs, a bridge's windows.
std::vector<int> resource_indices(const pci_dev& d) {
  std::vector<int> out;
  const int last = d.is_bridge() ? 2 : PCI_ROM_RESOURCE + 1;
  for (int i = 0; i < last; ++i) out.push_back(i);
  for (int i = PCI_IOV_RESOURCES; d.is_physfn && i <= PCI_IOV_RESOURCE_END; ++i) out.push_back(i);
  if (d.is_bridge()) {
    out.push_back(PCI_BRIDGE_RESOURCES + 1);
    out.push_back(PCI_BRIDGE_RESOURCES + 2);
  }
  return out;
}

}  // namespace

// pci_read_bridge_bases(): the windows a bridge's registers hold, as assigned resources.
void PciCore::read_bridge_windows(pci_dev& bridge) {
  const uint64_t mbase = uint64_t{read_config(bridge, PCI_MEMORY_BASE, 2) & PCI_MEMORY_RANGE_MASK} << 16;
  const uint64_t mlimit = (uint64_t{read_config(bridge, PCI_MEMORY_LIMIT, 2) & PCI_MEMORY_RANGE_MASK} << 16) | 0xFFFFF;
  resource& wm = bridge.res[PCI_BRIDGE_RESOURCES + 1];
  wm = mbase <= mlimit ? resource{mbase, mlimit, IORESOURCE_MEM} : resource{};
  uint64_t pbase = uint64_t{read_config(bridge, PCI_PREF_MEMORY_BASE, 2) & PCI_PREF_RANGE_MASK} << 16;
  uint64_t plimit = (uint64_t{read_config(bridge, PCI_PREF_MEMORY_LIMIT, 2) & PCI_PREF_RANGE_MASK} << 16) | 0xFFFFF;
  pbase |= uint64_t{read_config(bridge, PCI_PREF_BASE_UPPER32, 4)} << 32;
  plimit |= uint64_t{read_config(bridge, PCI_PREF_LIMIT_UPPER32, 4)} << 32;
  resource& wp = bridge.res[PCI_BRIDGE_RESOURCES + 2];
  wp = pbase <= plimit ? resource{pbase, plimit, IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64}
                       : resource{};
}

// The functions below `bus` the kernel does not have, set up; bridges among them get their child
// bus back from their bus-number registers.
void PciCore::rescan_child_bus(pci_bus* bus, std::vector<pci_dev*>& added) {
  auto known = [&](unsigned devfn) { return get_bus_and_slot(bus->number, devfn) != nullptr; };
  for (unsigned slot = 0; slot < 256; slot += 8) {
    for (unsigned devfn = slot; devfn < slot + 8; ++devfn) {
      if (devfn > 0 && bus->self && bus->self->is_pcie() &&
          (bus->self->pcie_type() == PCI_EXP_TYPE_ROOT_PORT || bus->self->pcie_type() == PCI_EXP_TYPE_DOWNSTREAM))
        break;  // only_one_child()
      const pci_dev* fn0 = get_bus_and_slot(bus->number, slot);
      if (devfn > slot && !(fn0 && fn0->multifunction)) break;
      if (known(devfn)) continue;
      if (devfn > slot && bus_read_config(bus->number, devfn, PCI_VENDOR_ID, 2) == 0xffff) continue;
      if (pci_dev* d = scan_single_device(bus, devfn)) {
        added.push_back(d);
        char msg[120];
        std::snprintf(msg, sizeof msg, "%s: [%04x:%04x] type %02x class 0x%06x", d->name().c_str(), d->vendor,
                      d->device, d->hdr_type, d->class_code);
        kernel_warn("pci_info", msg);
      }
    }
  }
  for (pci_dev* dev : std::vector<pci_dev*>(bus->devices)) {
    if (!dev->is_bridge()) continue;
    if (dev->subordinate) {
      rescan_child_bus(dev->subordinate, added);
      continue;
    }
    // A bridge found again: its registers still hold its buses and windows.
    const unsigned secondary = read_config(*dev, PCI_SECONDARY_BUS, 1);
    const unsigned subordinate = read_config(*dev, PCI_SUBORDINATE_BUS, 1);
    if (!secondary || secondary <= bus->number || subordinate < secondary) {
      kernel_warn("pci_info", dev->name() + ": bridge configuration invalid, not scanning behind it");
      continue;
    }
    auto child = std::make_unique<pci_bus>();
    child->parent = bus;
    child->self = dev;
    child->number = static_cast<uint8_t>(secondary);
    child->primary = bus->number;
    child->busn_end = static_cast<uint8_t>(subordinate);
    dev->subordinate = child.get();
    bus->children.push_back(child.get());
    pci_bus* c = child.get();
    buses_.push_back(std::move(child));
    read_bridge_windows(*dev);
    rescan_child_bus(c, added);
  }
}

// pci_assign_unassigned_bus_resources() for the functions a rescan found: largest alignment
// first (__assign_resources_sorted), each resource into the first free, aligned space of the
// window above it; "no space" leaves it unassigned.
void PciCore::assign_new_resources(const std::vector<pci_dev*>& added) {
  struct Want {
    pci_dev* dev;
    int index;
    uint64_t align;
  };
  std::vector<Want> wants;
  for (pci_dev* d : added)
    for (int i : resource_indices(*d)) {
      const resource& r = d->res[i];
      if (!(r.flags & IORESOURCE_MEM) || assigned(r)) continue;
      const bool iov = i >= PCI_IOV_RESOURCES && i <= PCI_IOV_RESOURCE_END;
      wants.push_back({d, i, iov ? pci_iov_resource_size(*d, i) : r.size()});
    }
  std::stable_sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) { return a.align > b.align; });
  for (const Want& w : wants) assign_new_resource(*w.dev, w.index, w.align);
}

// One resource of a new function into the window above it (__pci_assign_resource).
void PciCore::assign_new_resource(pci_dev& dev, int i, uint64_t align) {
  const pci_dev* bridge = dev.bus->self;
  resource& r = dev.res[i];
  const bool pref = is_pref64(r);
  uint64_t lo, hi;
  if (bridge) {
    const resource& w = bridge->res[PCI_BRIDGE_RESOURCES + (pref ? 2 : 1)];
    if (!assigned(w)) return;
    lo = w.start;
    hi = w.end;
  } else {
    lo = pref ? bridge_.mmio64_base : bridge_.mmio32_base;
    hi = lo + (pref ? bridge_.mmio64_size : bridge_.mmio32_size) - 1;
  }
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  for (const pci_dev* other : dev.bus->devices)
    for (int j : resource_indices(*other))
      if ((other != &dev || j != i) && assigned(other->res[j])) busy.push_back({other->res[j].start, other->res[j].end});
  std::sort(busy.begin(), busy.end());
  const uint64_t size = r.size();
  uint64_t at = align_up(lo, align);
  for (const auto& [s, e] : busy)
    if (at <= e && at + size - 1 >= s) at = align_up(e + 1, align);
  if (at < lo || at + size - 1 > hi || at + size - 1 < at) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "%s: BAR %d: no space for [mem size 0x%08llx]", dev.name().c_str(), i,
                  static_cast<unsigned long long>(size));
    kernel_warn("pci_info", msg);
    return;
  }
  r.start = at;
  r.end = at + size - 1;
  r.flags &= ~IORESOURCE_UNSET;
  if (i < PCI_ROM_RESOURCE) pci_update_bar(dev, PCI_BASE_ADDRESS_0 + 4 * i, r);
  else if (i >= PCI_IOV_RESOURCES && i <= PCI_IOV_RESOURCE_END) pci_iov_update_resource(*this, dev, i);
}

// pci_configure_mps(): a new function takes its upstream bridge's Max_Payload_Size when it
// supports it, and the configured Max_Read_Request_Size.
void PciCore::configure_new_mps(pci_dev& dev) {
  if (!dev.is_pcie()) return;
  const pci_dev* bridge = dev.bus->self;
  const int reg = dev.pcie_cap + PCI_EXP_DEVCTL;
  uint32_t ctl = read_config(dev, reg, 2);
  if (bridge && bridge->is_pcie()) {
    const uint32_t mps = (read_config(*bridge, bridge->pcie_cap + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_PAYLOAD) >> 5;
    if (mps > dev.pcie_mpss) {
      kernel_warn("pci_info", dev.name() + ": can't set Max Payload Size to the bridge's; it does not support it");
    } else {
      ctl = (ctl & ~uint32_t{PCI_EXP_DEVCTL_PAYLOAD}) | (mps << 5);
    }
  }
  if (!dev.is_bridge()) {
    uint32_t mrrs = 0;
    while ((128u << mrrs) < settings_.mrrs && mrrs < 5) ++mrrs;
    ctl = (ctl & ~uint32_t{PCI_EXP_DEVCTL_READRQ}) | (mrrs << 12);
  }
  write_config(dev, reg, 2, ctl);
}

std::vector<pci_dev*> PciCore::pci_rescan_bus(pci_bus* bus) {
  std::vector<pci_dev*> added;
  rescan_child_bus(bus, added);
  assign_new_resources(added);
  for (pci_dev* d : added) {
    configure_new_mps(*d);
    if (d->is_bridge() && d->subordinate) {  // the kernel enables a bridge for what is below it
      const uint32_t cmd = read_config(*d, PCI_COMMAND, 2);
      write_config(*d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    }
  }
  return added;
}

}  // namespace vfiosim::kernel
