// The kernel's PCI core for segment 0 (drivers/pci): config accessors over ECAM, enumeration in
// probe.c's depth-first order, BAR sizing, resource assignment into the host bridge windows
// (setup-bus.c, simplified), MPS/MRRS settings, and pci_enable_device/pci_set_master. Everything
// reaches the hardware through config and MMIO accesses of the calling simulated thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/cpu/host_port.h"
#include "vfio/linux/drivers/base/bus.h"
#include "vfio/linux/drivers/pci/pci.h"

namespace vfiosim::kernel {

class PciDriverCore;

struct HostBridgeInfo {
  uint64_t ecam_base = 0;
  uint64_t mmio32_base = 0;
  uint64_t mmio32_size = 0;
  uint64_t mmio64_base = 0;
  uint64_t mmio64_size = 0;
};

struct BusSettings {
  uint32_t mps = 256;   // requested Max_Payload_Size (bytes); lowered to what each hierarchy supports
  uint32_t mrrs = 512;  // Max_Read_Request_Size for endpoints (bytes)
  /// The disable_acs_redir= kernel parameter: devices ("0000:bb:dd.f") whose ACS P2P redirect
  /// controls (RR, CR, EC) stay off.
  std::vector<std::string> disable_acs_redir;
};

/// pci_walk_bus(): `fn` for every device on `bus` and below it, depth first.
void pci_walk_bus(pci_bus* bus, const std::function<void(pci_dev&)>& fn);

class PciCore {
 public:
  PciCore(HostPort& cpu, const HostBridgeInfo& bridge);
  ~PciCore();
  PciCore(const PciCore&) = delete;
  PciCore& operator=(const PciCore&) = delete;

  /// pci_bus_type: registered here with its attribute groups (pci_sysfs.h), its callbacks filled
  /// in by the driver side (PciDriverCore).
  bus_type pci_bus_type;
  /// The driver side while it exists (the sysfs stores that add, remove and probe devices use it).
  PciDriverCore* driver_core = nullptr;
  /// The host bridge's struct device (pci_host_bridge.dev, "pci0000:00"): the parent of the root
  /// bus's devices, so /sys/devices has the PCI hierarchy (pci0000:00/0000:00:01.0/0000:01:00.0).
  device host_bridge;
  /// pci_dev->dev.parent as pci_setup_device() sets it: the bridge above the bus (bus->bridge).
  device* pci_bus_bridge(pci_bus* bus) { return bus->self ? &bus->self->dev : &host_bridge; }

  /// pci_lock_rescan_remove(): serialises rescans and removals (pci_rescan_remove_lock).
  mutex& rescan_remove_lock() { return rescan_remove_lock_; }

  // drivers/pci/access.c
  uint32_t bus_read_config(uint8_t bus, unsigned devfn, int where, int size);
  void bus_write_config(uint8_t bus, unsigned devfn, int where, int size, uint32_t value);
  uint32_t read_config(const pci_dev& dev, int where, int size);
  void write_config(const pci_dev& dev, int where, int size, uint32_t value);

  /// Boot: pci_scan_root_bus(), pci_assign_unassigned_resources(), pcie_bus_configure_settings().
  /// Runs in a SystemC thread. Throws std::runtime_error if resources do not fit the windows.
  void scan(const BusSettings& settings);

  pci_bus* root_bus() { return root_.get(); }
  /// The devices the PCI core knows (each list entry holds a reference, put by pci_destroy_dev).
  const std::vector<pci_dev*>& devices() const { return devs_; }
  /// pci_get_domain_bus_and_slot(0, bus, devfn)
  pci_dev* get_bus_and_slot(uint8_t bus, unsigned devfn) const;
  pci_dev* find(const std::string& name) const;  // by "0000:bb:dd.f"

  /// pci_set_power_state() for D0-D3hot through the PM capability: -EIO without one or for an
  /// unsupported D1/D2; waits the PM spec's transition times (10 ms to or from D3hot, 200 us to
  /// or from D2) and reads the state back into current_state.
  int pci_set_power_state(pci_dev& dev, int state);
  /// pci_read_vpd() / pci_write_vpd() (vpd.cpp): bytes read or written, 0 past the end, or
  /// -ENODEV (no VPD), -EINVAL (a write not in whole dwords), -ETIMEDOUT.
  long pci_read_vpd(pci_dev& dev, unsigned pos, unsigned count, uint8_t* buf);
  long pci_write_vpd(pci_dev& dev, unsigned pos, unsigned count, const uint8_t* buf);
  /// pci_map_rom() (rom.cpp): the ROM BAR enabled at its assigned address, and in *size the true
  /// size of its images; 0 without a ROM or a valid image. pci_unmap_rom() disables it again.
  uint64_t pci_map_rom(pci_dev& dev, size_t* size);
  void pci_unmap_rom(pci_dev& dev, uint64_t rom);
  int pci_enable_rom(pci_dev& dev);
  void pci_disable_rom(pci_dev& dev);
  size_t pci_get_rom_size(pci_dev& dev, uint64_t rom, size_t size);
  /// pci_enable_device(): sets Command.MEM/IO for the resources the device has.
  int enable_device(pci_dev& dev);
  void set_master(pci_dev& dev);
  void pci_intx(pci_dev& dev, bool enable);
  /// pci_find_capability / pci_find_ext_capability through config reads (48-hop bound).
  uint8_t find_capability(uint8_t bus, unsigned devfn, int cap);
  uint16_t find_ext_capability(uint8_t bus, unsigned devfn, int cap);

  const BusSettings& settings() const { return settings_; }

  // Devices added after boot (SR-IOV VFs, drivers/pci/iov.c).
  pci_dev& pci_alloc_dev(pci_bus* bus, unsigned devfn);
  /// pci_setup_device(): header, capabilities, BARs (none for a VF).
  void pci_setup_device(pci_dev& dev);
  void pci_destroy_dev(pci_dev* dev);
  /// __pci_read_base(): sizes the BAR-like register at `reg` into `r`; true when it is 64-bit.
  bool pci_read_base(pci_dev& dev, int reg, resource& r);
  /// pci_update_resource(): writes the assigned start of `r` into the BAR at `reg`.
  void pci_update_bar(pci_dev& dev, int reg, const resource& r);

  /// pci_rescan_bus() (rescan.cpp): finds the functions below `bus` the kernel does not have,
  /// assigns their resources and MPS, and returns them parents first, for pci_bus_add_devices().
  std::vector<pci_dev*> pci_rescan_bus(pci_bus* bus);

  /// Config reads Linux made during boot (for the report).
  uint64_t config_accesses() const { return config_accesses_; }

 private:
  uint64_t ecam(uint8_t bus, unsigned devfn, int where) const;
  // probe.c
  unsigned scan_child_bus(pci_bus* bus);
  void scan_slot(pci_bus* bus, unsigned devfn);
  pci_dev* scan_single_device(pci_bus* bus, unsigned devfn);
  unsigned scan_bridge(pci_bus* bus, pci_dev* dev, unsigned max);
  void setup_device(pci_dev& dev);
  int vpd_wait(pci_dev& dev, bool set);
  int vpd_read_dword(pci_dev& dev, unsigned pos, uint32_t& val);
  unsigned vpd_size(pci_dev& dev);
  void configure_ari(pci_dev& dev);
  void assign_irq(pci_dev& dev);
  void read_bases(pci_dev& dev, int howmany, int rom);
  // rescan.cpp
  void rescan_child_bus(pci_bus* bus, std::vector<pci_dev*>& added);
  void read_bridge_windows(pci_dev& bridge);
  void assign_new_resources(const std::vector<pci_dev*>& added);
  void assign_new_resource(pci_dev& dev, int index, uint64_t align);
  void configure_new_mps(pci_dev& dev);
  // setup-bus.c (simplified)
  void size_and_assign();
  // pcie_bus_configure_settings
  void configure_mps(const BusSettings& s);

  HostPort& cpu_;
  HostBridgeInfo bridge_;
  std::unique_ptr<pci_bus> root_;
  std::vector<std::unique_ptr<pci_bus>> buses_;
  std::vector<std::unique_ptr<pci_bus>> removed_buses_;  // buses of removed bridges
  std::vector<pci_dev*> devs_;
  uint64_t config_accesses_ = 0;
  BusSettings settings_;
  mutex rescan_remove_lock_{"pci_rescan_remove_lock"};
};

}  // namespace vfiosim::kernel
