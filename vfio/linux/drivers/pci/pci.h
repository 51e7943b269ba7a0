// The kernel's PCI objects (include/linux/pci.h): pci_dev and pci_bus with the fields the VFIO
// port and the IOMMU grouping need, and their resources. Names follow the kernel.
#pragma once

#include <linux/pci_regs.h>

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/bus.h"
#include "vfio/linux/drivers/base/core.h"
#include "vfio/linux/drivers/base/power/runtime.h"

namespace vfiosim::kernel {

// include/linux/ioport.h flag bits we use.
constexpr unsigned long IORESOURCE_IO = 0x00000100;
constexpr unsigned long IORESOURCE_MEM = 0x00000200;
constexpr unsigned long IORESOURCE_PREFETCH = 0x00002000;
constexpr unsigned long IORESOURCE_MEM_64 = 0x00100000;
constexpr unsigned long IORESOURCE_UNSET = 0x20000000;

struct resource {
  uint64_t start = 0;
  uint64_t end = 0;
  unsigned long flags = 0;
  uint64_t size() const { return flags ? end - start + 1 : 0; }
};

/// A 64-bit prefetchable memory resource: one that goes in a bridge's prefetchable window.
inline bool is_pref64(const resource& r) {
  return (r.flags & IORESOURCE_MEM) && (r.flags & IORESOURCE_PREFETCH) && (r.flags & IORESOURCE_MEM_64);
}

constexpr int PCI_ROM_RESOURCE = 6;
constexpr int PCI_IOV_RESOURCES = 7;      // 7-12: the SR-IOV VF BAR regions (TotalVFs x VF BAR size)
constexpr int PCI_IOV_RESOURCE_END = 12;
constexpr int PCI_BRIDGE_RESOURCES = 13;  // 13: I/O window, 14: memory window, 15: prefetchable window
constexpr int PCI_NUM_RESOURCES = 17;

// pci_pcie_type() values are the PCI_EXP_TYPE_* constants of <linux/pci_regs.h>.

struct pci_bus;
struct pci_dev;

// pci_power_t (include/linux/pci.h)
enum pci_power_t : int { PCI_D0 = 0, PCI_D1 = 1, PCI_D2 = 2, PCI_D3hot = 3, PCI_D3cold = 4, PCI_UNKNOWN = 5 };

// struct pci_sriov (drivers/pci/pci.h): the PF's SR-IOV state.
struct pci_sriov {
  int pos = 0;                 // capability offset
  int nres = 0;                // VF BARs with resources
  uint32_t cap = 0;            // SR-IOV Capabilities
  uint16_t ctrl = 0;           // SR-IOV Control as last written
  uint16_t total_VFs = 0;
  uint16_t initial_VFs = 0;
  uint16_t num_VFs = 0;        // VFs enabled now
  uint16_t offset = 0;         // First VF Offset
  uint16_t stride = 0;         // VF Stride
  uint16_t vf_device = 0;      // VF Device ID
  uint32_t pgsz = 0;           // System Page Size
  uint8_t link = 0;            // Function Dependency Link
  uint16_t driver_max_VFs = 0;
  uint64_t barsz[6] = {};      // one VF's size of each VF BAR
  bool drivers_autoprobe = true;  // sriov_drivers_autoprobe: probe drivers for new VFs
  std::vector<pci_dev*> vfs;   // VF n-1 at index n-1 while enabled
};

struct msi_desc;

struct pci_dev {
  /// The embedded struct device: its reference count keeps the pci_dev alive (pci_dev_get);
  /// pci_release_dev() frees it with the last put.
  struct device dev;
  pci_bus* bus = nullptr;
  unsigned int devfn = 0;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;  // 24 bits: base, sub, prog-if
  uint8_t hdr_type = 0;
  bool multifunction = false;
  uint8_t pcie_cap = 0;     // offset, 0 if not PCI Express
  uint8_t pcie_flags_type = 0;
  uint16_t acs_cap = 0;
  uint16_t aer_cap = 0;  // pci_aer_init(): the AER extended capability, 0 if none
  uint8_t msi_cap = 0;      // pci_msi_init(): the MSI capability, 0 if none
  uint8_t msix_cap = 0;
  // MSI state (drivers/pci/msi): enabled flags, the mapped MSI-X table, the descriptors.
  bool msi_enabled = false;
  bool msix_enabled = false;
  uint64_t msix_base = 0;
  std::vector<std::shared_ptr<msi_desc>> msi_descs;
  uint8_t pm_cap = 0;       // PM capability offset (pci_pm_init)
  uint8_t vpd_cap = 0;      // VPD capability offset (pci_vpd_init)
  unsigned vpd_len = 0;     // the VPD image's size, found at first use (0: not yet)
  int current_state = PCI_D0;  // pci_power_t
  bool d1_support = false, d2_support = false;
  unsigned d3hot_delay_ms = 10;  // PCI_PM_D3HOT_WAIT
  uint32_t pcie_mpss = 0;   // Max_Payload_Size supported, as the 0..5 encoding
  uint8_t pin = 0;          // Interrupt Pin (1-4 = INTA-INTD, 0 none)
  unsigned irq = 0;         // the INTx line pci_assign_irq() found (0: none)
  resource res[PCI_NUM_RESOURCES];
  pci_bus* subordinate = nullptr;  // the bus below a bridge
  bool is_enabled = false;
  bool is_busmaster = false;
  bool match_driver = false;  // pci_bus_add_device() done: drivers may match (pci_bus_match)
  std::unique_ptr<std::string> driver_override;  // sysfs driver_override, nullptr when unset
  std::bitset<256> dma_alias_mask;  // devfns on the same bus this device also DMAs as (quirks)
  // SR-IOV (drivers/pci/iov.c)
  bool is_physfn = false;
  bool is_virtfn = false;
  pci_dev* physfn = nullptr;        // a VF's PF
  std::shared_ptr<pci_sriov> sriov;  // a PF's state
  bool ari_enabled = false;         // a bridge: ARI Forwarding enabled for its secondary bus
  // The IOMMU group is the embedded device's (dev.iommu_group), as in the kernel.

  std::string name() const;  // "0000:01:00.0"
  bool is_bridge() const { return (hdr_type & 0x7f) == 1; }
  bool is_pcie() const { return pcie_cap != 0; }
  int pcie_type() const { return pcie_flags_type; }
  uint8_t slot() const { return static_cast<uint8_t>(devfn >> 3); }
  uint8_t func() const { return static_cast<uint8_t>(devfn & 7); }
};

struct pci_bus {
  pci_bus* parent = nullptr;
  pci_dev* self = nullptr;  // the bridge above, nullptr for the root bus
  uint8_t number = 0;
  uint8_t primary = 0;
  uint8_t busn_end = 0;     // subordinate
  std::vector<pci_dev*> devices;
  std::vector<pci_bus*> children;
};

/// "0000:bb:dd.f"
std::string pci_name(uint8_t bus, unsigned int devfn);

/// PCI_DEVID(): the requester ID of bus and devfn.
inline uint16_t PCI_DEVID(uint8_t bus, unsigned int devfn) { return static_cast<uint16_t>((bus << 8) | (devfn & 0xff)); }

/// to_pci_dev(): the pci_dev a struct device is embedded in.
inline pci_dev* to_pci_dev(device* d) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  return d ? reinterpret_cast<pci_dev*>(reinterpret_cast<char*>(d) - offsetof(pci_dev, dev)) : nullptr;
#pragma GCC diagnostic pop
}
inline const pci_dev* to_pci_dev(const device* d) { return to_pci_dev(const_cast<device*>(d)); }
/// dev_is_pci(): whether `d` sits on the PCI bus. pci_bus_type is a member of each PciCore (one
/// per simulated platform), so the bus is recognised by its name, which only that bus_type has.
inline bool dev_is_pci(const device* d) { return d && d->bus && d->bus->name == "pci"; }
/// pci_dev_get() / pci_dev_put(): get_device() / put_device() of the embedded device.
inline pci_dev* pci_dev_get(pci_dev* p) {
  if (p) get_device(&p->dev);
  return p;
}
inline void pci_dev_put(pci_dev* p) {
  if (p) put_device(&p->dev);
}

}  // namespace vfiosim::kernel
