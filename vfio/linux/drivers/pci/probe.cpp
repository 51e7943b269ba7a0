// Config access and enumeration: ports of drivers/pci/access.c and probe.c (pass 1 numbering:
// buses are assigned depth-first, as the kernel does when firmware left them unset).
#include "vfio/linux/drivers/pci/probe.h"

#include "models/pci/intx_routing.h"
#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/drivers/pci/pci_acs.h"
#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/pci/pci-sysfs.h"

#include <linux/pci_regs.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace vfiosim::kernel {

std::string pci_name(uint8_t bus, unsigned int devfn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000:%02x:%02x.%x", bus, devfn >> 3, devfn & 7);
  return buf;
}

std::string pci_dev::name() const { return pci_name(bus ? bus->number : 0, devfn); }

PciCore::PciCore(HostPort& cpu, const HostBridgeInfo& bridge) : cpu_(cpu), bridge_(bridge) {
  pci_bus_type.name = "pci";
  pci_bus_type.bus_groups = pci_bus_groups();
  pci_bus_type.dev_groups = pci_dev_groups();
  bus_register(&pci_bus_type);  // pci_driver_init()
  // pci_alloc_host_bridge(): the bridge device, freed with the core (pci_release_host_bridge_dev).
  device_initialize(&host_bridge);
  host_bridge.init_name = "pci0000:00";
  host_bridge.release = [](device*) {};
}

// The list's references go with the core; a device still referenced elsewhere at that point is
// a leak the end-of-run check reports (struct devices left).
PciCore::~PciCore() {
  for (pci_dev* d : devs_)  // a PF's VF list and each VF's PF reference would keep each other
    if (d->sriov) {
      for (pci_dev* vf : d->sriov->vfs) pci_dev_put(vf);
      d->sriov->vfs.clear();
    }
  // A device still added holds its parent (device_add); device_del() would drop that reference.
  for (pci_dev* d : devs_)
    if (device_is_registered(&d->dev)) put_device(d->dev.parent);
  for (device* d : std::vector<device*>(pci_bus_type.devices)) put_device(d);  // the bus's list
  pci_bus_type.devices.clear();
  for (pci_dev* d : devs_) pci_dev_put(d);
  put_device(&host_bridge);  // its directory goes with its release
  sysfs_remove_dir(&pci_bus_type.subsys);  // nothing in sysfs may reach the bus once it is gone
}

namespace {
// pci_alloc_dev(): a pci_dev with its struct device initialised; pci_release_dev() frees it.
pci_dev* new_pci_dev(pci_bus* bus, unsigned devfn, device* parent) {
  auto* d = new pci_dev();
  device_initialize(&d->dev);
  d->dev.parent = parent;  // pci_setup_device(): dev->dev.parent = dev->bus->bridge
  d->dev.release = [](device* dev) {  // pci_release_dev()
    pci_dev* p = to_pci_dev(dev);
    pci_dev* pf = p->is_virtfn ? p->physfn : nullptr;
    delete p;
    pci_dev_put(pf);  // a VF's reference to its PF (pci_iov_add_virtfn)
  };
  d->bus = bus;
  d->devfn = devfn;
  d->dev.init_name = d->name();
  return d;
}
}  // namespace

uint64_t PciCore::ecam(uint8_t bus, unsigned devfn, int where) const {
  return bridge_.ecam_base + (uint64_t{bus} << 20) + (uint64_t{devfn & 0xff} << 12) + static_cast<uint64_t>(where);
}

// pci_bus_read_config_{byte,word,dword}
uint32_t PciCore::bus_read_config(uint8_t bus, unsigned devfn, int where, int size) {
  ++config_accesses_;
  return static_cast<uint32_t>(cpu_.read(ecam(bus, devfn, where), static_cast<unsigned>(size)));
}

// pci_bus_write_config_{byte,word,dword}
void PciCore::bus_write_config(uint8_t bus, unsigned devfn, int where, int size, uint32_t value) {
  ++config_accesses_;
  cpu_.write(ecam(bus, devfn, where), static_cast<unsigned>(size), value);
}

uint32_t PciCore::read_config(const pci_dev& dev, int where, int size) {
  return bus_read_config(dev.bus->number, dev.devfn, where, size);
}

void PciCore::write_config(const pci_dev& dev, int where, int size, uint32_t value) {
  bus_write_config(dev.bus->number, dev.devfn, where, size, value);
}

// __pci_find_next_cap_ttl
uint8_t PciCore::find_capability(uint8_t bus, unsigned devfn, int cap) {
  if (!(bus_read_config(bus, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return 0;
  uint32_t pos = bus_read_config(bus, devfn, PCI_CAPABILITY_LIST, 1);
  for (int ttl = 48; ttl-- > 0;) {
    if (pos < 0x40) break;
    pos &= ~3u;
    const uint32_t ent = bus_read_config(bus, devfn, static_cast<int>(pos), 2);
    const uint32_t id = ent & 0xff;
    if (id == 0xff) break;
    if (id == static_cast<uint32_t>(cap)) return static_cast<uint8_t>(pos);
    pos = ent >> 8;
  }
  return 0;
}

// pci_find_next_ext_capability
uint16_t PciCore::find_ext_capability(uint8_t bus, unsigned devfn, int cap) {
  int pos = PCI_CFG_SPACE_SIZE;
  for (int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; ttl-- > 0;) {
    const uint32_t header = bus_read_config(bus, devfn, pos, 4);
    if (header == 0 || header == 0xffffffff) return 0;
    if (static_cast<int>(PCI_EXT_CAP_ID(header)) == cap && pos != 0) return static_cast<uint16_t>(pos);
    pos = static_cast<int>(PCI_EXT_CAP_NEXT(header));
    if (pos < PCI_CFG_SPACE_SIZE) return 0;
  }
  return 0;
}

pci_dev* PciCore::get_bus_and_slot(uint8_t bus, unsigned devfn) const {
  for (pci_dev* d : devs_)
    if (d->bus->number == bus && d->devfn == devfn) return d;
  return nullptr;
}

pci_dev* PciCore::find(const std::string& name) const {
  for (pci_dev* d : devs_)
    if (d->name() == name) return d;
  return nullptr;
}

// __pci_read_base(): sizes the BAR (or VF BAR) at `reg` into `r`; returns true for a 64-bit
// BAR, whose upper half is the next register.
bool PciCore::pci_read_base(pci_dev& dev, int reg, resource& r) {
  const uint32_t l = read_config(dev, reg, 4);
  write_config(dev, reg, 4, 0xffffffff);
  const uint32_t sz = read_config(dev, reg, 4);
  write_config(dev, reg, 4, l);
  if (sz == 0 || sz == 0xffffffff) return false;
  if (l & PCI_BASE_ADDRESS_SPACE_IO) {
    const uint32_t mask = sz & PCI_BASE_ADDRESS_IO_MASK;
    r.flags = IORESOURCE_IO | IORESOURCE_UNSET;
    r.start = 0;
    r.end = (mask & ~(mask - 1)) - 1;
    return false;
  }
  uint64_t mask = sz & PCI_BASE_ADDRESS_MEM_MASK;
  r.flags = IORESOURCE_MEM | IORESOURCE_UNSET;
  if (l & PCI_BASE_ADDRESS_MEM_PREFETCH) r.flags |= IORESOURCE_PREFETCH;
  const bool is64 = (l & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
  if (is64) {
    const uint32_t lh = read_config(dev, reg + 4, 4);
    write_config(dev, reg + 4, 4, 0xffffffff);
    mask |= uint64_t{read_config(dev, reg + 4, 4)} << 32;
    write_config(dev, reg + 4, 4, lh);
    r.flags |= IORESOURCE_MEM_64;
  }
  r.start = 0;
  r.end = (mask & ~(mask - 1)) - 1;
  return is64;
}

// pci_update_resource(): programs the assigned start of `r` into the BAR at `reg`.
void PciCore::pci_update_bar(pci_dev& dev, int reg, const resource& r) {
  const uint32_t low = read_config(dev, reg, 4) & ~static_cast<uint32_t>(PCI_BASE_ADDRESS_MEM_MASK);
  write_config(dev, reg, 4, low | static_cast<uint32_t>(r.start & PCI_BASE_ADDRESS_MEM_MASK));
  if (r.flags & IORESOURCE_MEM_64) write_config(dev, reg + 4, 4, static_cast<uint32_t>(r.start >> 32));
}

// pci_read_bases(): every BAR of a function, sized with decode disabled.
void PciCore::read_bases(pci_dev& dev, int howmany, int rom) {
  const uint32_t cmd = read_config(dev, PCI_COMMAND, 2);
  if (cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO))
    write_config(dev, PCI_COMMAND, 2, cmd & ~uint32_t{PCI_COMMAND_MEMORY | PCI_COMMAND_IO});
  for (int i = 0; i < howmany; ++i)
    if (pci_read_base(dev, PCI_BASE_ADDRESS_0 + 4 * i, dev.res[i])) ++i;  // the upper half uses the next slot
  if (rom) {
    const uint32_t l = read_config(dev, rom, 4);
    write_config(dev, rom, 4, l | PCI_ROM_ADDRESS_MASK);
    const uint32_t sz = read_config(dev, rom, 4) & PCI_ROM_ADDRESS_MASK;
    write_config(dev, rom, 4, l);
    if (sz) {
      dev.res[PCI_ROM_RESOURCE].flags = IORESOURCE_MEM | IORESOURCE_UNSET;
      dev.res[PCI_ROM_RESOURCE].end = (sz & ~(sz - 1)) - 1;
    }
  }
  if (cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)) write_config(dev, PCI_COMMAND, 2, cmd);
}

// pci_setup_device
void PciCore::setup_device(pci_dev& dev) {
  pm_runtime_forbid(&dev.dev);  // pci_pm_init(): power/control starts "on"
  dev.pm_cap = find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_PM);
  dev.vpd_cap = find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_VPD);
  if (dev.pm_cap) {
    const uint32_t pmc = read_config(dev, dev.pm_cap + PCI_PM_PMC, 2);
    dev.d1_support = pmc & PCI_PM_CAP_D1;
    dev.d2_support = pmc & PCI_PM_CAP_D2;
    dev.current_state = static_cast<int>(read_config(dev, dev.pm_cap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK);
  }
  dev.class_code = read_config(dev, PCI_CLASS_REVISION, 4) >> 8;
  const uint32_t hdr = read_config(dev, PCI_HEADER_TYPE, 1);
  dev.hdr_type = static_cast<uint8_t>(hdr & 0x7f);
  dev.multifunction = hdr & 0x80;
  dev.pcie_cap = find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_EXP);
  if (dev.pcie_cap) {
    dev.pcie_flags_type = static_cast<uint8_t>((read_config(dev, dev.pcie_cap + PCI_EXP_FLAGS, 2) >> 4) & 0xf);
    dev.pcie_mpss = read_config(dev, dev.pcie_cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_PAYLOAD;
    dev.acs_cap = find_ext_capability(dev.bus->number, dev.devfn, PCI_EXT_CAP_ID_ACS);
    dev.aer_cap = find_ext_capability(dev.bus->number, dev.devfn, PCI_EXT_CAP_ID_ERR);
  }
  dev.msi_cap = find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_MSI);
  dev.msix_cap = find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_MSIX);
  pci_apply_dma_alias_quirks(dev);  // pci_fixup_device(pci_fixup_header)
  // pci_init_capabilities(): ARI forwarding, SR-IOV, then ACS (an IOMMU asked for it).
  configure_ari(dev);
  pci_iov_init(*this, dev);
  pci_enable_acs(*this, dev);
  assign_irq(dev);
  if (dev.is_virtfn) return;  // a VF's BARs read 0: its resources come from the PF (pci_iov_add_virtfn)
  if (dev.is_bridge()) read_bases(dev, 2, PCI_ROM_ADDRESS1);
  else read_bases(dev, 6, PCI_ROM_ADDRESS);
}

// pci_configure_ari(): function 0 with an ARI capability below a port that supports ARI
// Forwarding turns it on, so functions 8-255 on the link are reachable.
void PciCore::configure_ari(pci_dev& dev) {
  if (!dev.is_pcie() || dev.devfn || dev.is_virtfn) return;
  pci_dev* bridge = dev.bus->self;
  if (!bridge || !bridge->is_pcie()) return;
  if (!(read_config(*bridge, bridge->pcie_cap + PCI_EXP_DEVCAP2, 4) & PCI_EXP_DEVCAP2_ARI)) return;
  const int reg = bridge->pcie_cap + PCI_EXP_DEVCTL2;
  const uint32_t ctl = read_config(*bridge, reg, 2);
  if (find_ext_capability(dev.bus->number, dev.devfn, PCI_EXT_CAP_ID_ARI)) {
    write_config(*bridge, reg, 2, ctl | PCI_EXP_DEVCTL2_ARI);
    bridge->ari_enabled = true;
  } else {
    write_config(*bridge, reg, 2, ctl & ~uint32_t{PCI_EXP_DEVCTL2_ARI});
    bridge->ari_enabled = false;
  }
}

void PciCore::pci_setup_device(pci_dev& dev) { setup_device(dev); }

// pci_swizzle_interrupt_pin()
static unsigned pci_swizzle_interrupt_pin(const pci_dev& dev, unsigned pin) { return (pin - 1 + dev.slot()) % 4 + 1; }

// pci_assign_irq(): the pin swizzled up to the root bus (pci_common_swizzle), then the
// firmware's routing table for (slot, pin) — the platform's pci::intx_line().
void PciCore::assign_irq(pci_dev& dev) {
  dev.pin = static_cast<uint8_t>(read_config(dev, PCI_INTERRUPT_PIN, 1));
  if (!dev.pin || dev.pin > 4 || dev.is_virtfn) {  // VFs have no INTx
    dev.irq = 0;
    return;
  }
  unsigned pin = dev.pin;
  const pci_dev* d = &dev;
  while (d->bus->self) {
    pin = pci_swizzle_interrupt_pin(*d, pin);
    d = d->bus->self;
  }
  dev.irq = pci::intx_line(d->slot(), pin);
  write_config(dev, PCI_INTERRUPT_LINE, 1, dev.irq & 0xff);
}

// pci_alloc_dev() + list_add to the bus: the caller sets the IDs and calls pci_setup_device().
pci_dev& PciCore::pci_alloc_dev(pci_bus* bus, unsigned devfn) {
  pci_dev* d = new_pci_dev(bus, devfn, pci_bus_bridge(bus));
  devs_.push_back(d);
  bus->devices.push_back(d);
  return *d;
}

// pci_destroy_dev(): off the bus, and the core's reference put (after device_del); the pci_dev is
// freed when whoever still holds one (a probe sleeping in a config access) lets go. A removed
// bridge's bus stays allocated until the core goes, since such a holder may still use dev->bus
// (the kernel keeps it by reference, pci_bus_get in pci_alloc_dev).
void PciCore::pci_destroy_dev(pci_dev* dev) {
  auto& list = dev->bus->devices;
  list.erase(std::remove(list.begin(), list.end(), dev), list.end());
  if (pci_bus* child = dev->subordinate) {  // pci_remove_bus(): a bridge's (now empty) bus goes with it
    auto& kids = dev->bus->children;
    kids.erase(std::remove(kids.begin(), kids.end(), child), kids.end());
    for (auto it = buses_.begin(); it != buses_.end(); ++it)
      if (it->get() == child) {
        removed_buses_.push_back(std::move(*it));
        buses_.erase(it);
        break;
      }
    dev->subordinate = nullptr;
  }
  for (auto it = devs_.begin(); it != devs_.end(); ++it)
    if (*it == dev) {
      devs_.erase(it);
      pci_dev_put(dev);
      return;
    }
}

pci_dev* PciCore::scan_single_device(pci_bus* bus, unsigned devfn) {
  const uint32_t id = bus_read_config(bus->number, devfn, PCI_VENDOR_ID, 4);
  if (id == 0xffffffff || id == 0 || (id & 0xffff) == 0xffff) return nullptr;  // pci_bus_read_dev_vendor_id
  pci_dev* d = new_pci_dev(bus, devfn, pci_bus_bridge(bus));
  d->vendor = static_cast<uint16_t>(id & 0xffff);
  d->device = static_cast<uint16_t>(id >> 16);
  devs_.push_back(d);
  bus->devices.push_back(d);
  setup_device(*d);
  return d;
}

namespace {
// only_one_child(): below a root port or downstream port only device 0 can exist.
bool only_one_child(const pci_bus* bus) {
  const pci_dev* bridge = bus->self;
  return bridge && bridge->is_pcie() &&
         (bridge->pcie_type() == PCI_EXP_TYPE_ROOT_PORT || bridge->pcie_type() == PCI_EXP_TYPE_DOWNSTREAM);
}
}  // namespace

// pci_scan_slot: function 0, then the next functions — 1-7 of a multi-function device, or the
// ARI capability's Next Function Number chain when ARI Forwarding is on (next_fn()).
void PciCore::scan_slot(pci_bus* bus, unsigned devfn) {
  if (only_one_child(bus) && devfn > 0) return;
  pci_dev* dev = scan_single_device(bus, devfn);
  if (!dev) return;
  if (bus->self && bus->self->ari_enabled) {
    for (int hops = 0; dev && hops < 256; ++hops) {
      const uint16_t pos = find_ext_capability(bus->number, dev->devfn, PCI_EXT_CAP_ID_ARI);
      if (!pos) return;
      const unsigned next = (read_config(*dev, pos + PCI_ARI_CAP, 2) >> 8) & 0xff;
      if (next <= dev->devfn) return;
      dev = scan_single_device(bus, next);
    }
    return;
  }
  if (!dev->multifunction) return;
  for (unsigned fn = 1; fn < 8; ++fn) scan_single_device(bus, devfn + fn);
}

// pci_scan_bridge_extend, pass 1: give the bridge the next bus number and scan behind it.
unsigned PciCore::scan_bridge(pci_bus* bus, pci_dev* dev, unsigned max) {
  if (max >= 255) throw std::runtime_error("PCI bus numbers exhausted below " + dev->name());
  auto child = std::make_unique<pci_bus>();
  child->parent = bus;
  child->self = dev;
  child->number = static_cast<uint8_t>(++max);
  child->primary = bus->number;
  dev->subordinate = child.get();
  bus->children.push_back(child.get());
  pci_bus* c = child.get();
  buses_.push_back(std::move(child));
  write_config(*dev, PCI_PRIMARY_BUS, 1, bus->number);
  write_config(*dev, PCI_SECONDARY_BUS, 1, c->number);
  write_config(*dev, PCI_SUBORDINATE_BUS, 1, 0xff);  // reach everything below while scanning
  max = scan_child_bus(c);
  c->busn_end = static_cast<uint8_t>(max);
  write_config(*dev, PCI_SUBORDINATE_BUS, 1, max);
  return max;
}

// pci_scan_child_bus_extend
unsigned PciCore::scan_child_bus(pci_bus* bus) {
  unsigned max = bus->number;
  for (unsigned devfn = 0; devfn < 256; devfn += 8) scan_slot(bus, devfn);
  const auto devices = bus->devices;  // scan_bridge appends below, not here
  for (pci_dev* dev : devices)
    if (dev->is_bridge()) max = scan_bridge(bus, dev, max);
  return max;
}

void PciCore::scan(const BusSettings& settings) {
  settings_ = settings;
  root_ = std::make_unique<pci_bus>();
  root_->number = 0;
  root_->busn_end = static_cast<uint8_t>(scan_child_bus(root_.get()));
  size_and_assign();
  configure_mps(settings);
  // pci_register_host_bridge(): the bridge's device first. Deliberate difference: a second
  // simulated kernel in the same process, whose PCI bus stayed out of sysfs, leaves its bridge
  // (and so its devices) out too.
  if (pci_bus_type.subsys.sd && !device_is_registered(&host_bridge)) device_add(&host_bridge);
  // pci_bus_add_devices() of the boot scan: each device on the PCI bus (pci_device_add ->
  // device_add), then open to drivers (pci_bus_add_device).
  for (pci_dev* d : devs_) {
    d->dev.bus = &pci_bus_type;
    device_add(&d->dev);
    d->match_driver = true;
    device_attach(&d->dev);
  }
}

void pci_walk_bus(pci_bus* bus, const std::function<void(pci_dev&)>& fn) {
  for (pci_dev* d : std::vector<pci_dev*>(bus->devices)) {
    fn(*d);
    if (d->subordinate) pci_walk_bus(d->subordinate, fn);
  }
}

// pci_enable_device -> pci_enable_resources
int PciCore::enable_device(pci_dev& dev) {
  uint32_t cmd = read_config(dev, PCI_COMMAND, 2);
  const uint32_t old = cmd;
  for (int i = 0; i < PCI_ROM_RESOURCE; ++i) {
    if (dev.res[i].flags & IORESOURCE_UNSET) continue;
    if (dev.res[i].flags & IORESOURCE_IO) cmd |= PCI_COMMAND_IO;
    if (dev.res[i].flags & IORESOURCE_MEM) cmd |= PCI_COMMAND_MEMORY;
  }
  if (cmd != old) write_config(dev, PCI_COMMAND, 2, cmd);
  dev.is_enabled = true;
  return 0;
}

// pci_intx(): INTx Disable cleared (enable) or set, written only when it changes.
void PciCore::pci_intx(pci_dev& dev, bool enable) {
  const uint32_t orig = read_config(dev, PCI_COMMAND, 2);
  const uint32_t cmd = enable ? (orig & ~uint32_t{PCI_COMMAND_INTX_DISABLE}) : (orig | PCI_COMMAND_INTX_DISABLE);
  if (cmd != orig) write_config(dev, PCI_COMMAND, 2, cmd);
}

// pci_set_master
void PciCore::set_master(pci_dev& dev) {
  const uint32_t cmd = read_config(dev, PCI_COMMAND, 2);
  if (!(cmd & PCI_COMMAND_MASTER)) write_config(dev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
  dev.is_busmaster = true;
}

}  // namespace vfiosim::kernel
