// The PCI bus's side of the driver model (drivers/pci/pci-driver.c, v6.1): pci_driver embedding a
// device_driver, the pci_bus_type callbacks (pci_bus_match with driver_override, pci_device_probe
// with pci_device_can_probe and runtime PM, pci_device_remove, pci_dma_configure), and
// pci_register_driver. Binding itself is the generic driver core's (vfio/linux/drivers/base/dd.cpp); the
// methods here are the PCI-typed entry points the rest of the port calls.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vfio/linux/drivers/base/driver.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

// include/linux/pci.h: what a driver's error handlers answer, and the channel state they are told.
enum pci_ers_result_t : int {
  PCI_ERS_RESULT_NONE = 1,
  PCI_ERS_RESULT_CAN_RECOVER = 2,
  PCI_ERS_RESULT_NEED_RESET = 3,
  PCI_ERS_RESULT_DISCONNECT = 4,
  PCI_ERS_RESULT_RECOVERED = 5,
  PCI_ERS_RESULT_NO_AER_DRIVER = 6,
};
enum pci_channel_state_t : int { pci_channel_io_normal = 1, pci_channel_io_frozen = 2, pci_channel_io_perm_failure = 3 };

/// struct pci_error_handlers: the callbacks AER error recovery makes (absent ones are skipped).
struct pci_error_handlers {
  std::function<pci_ers_result_t(pci_dev&, pci_channel_state_t)> error_detected;
  std::function<pci_ers_result_t(pci_dev&)> mmio_enabled;
  std::function<pci_ers_result_t(pci_dev&)> slot_reset;
  std::function<void(pci_dev&)> resume;
};

struct pci_driver {
  struct device_driver driver;           // driver.name == name, driver.bus == &pci_bus_type
  std::string name;
  /// The driver's ID table as a predicate (pci_match_id).
  std::function<bool(const pci_dev&)> id_table;
  std::function<int(pci_dev&)> probe;    // 0 or -errno
  std::function<void(pci_dev&)> remove;
  /// sriov_configure(): enable `n` VFs (returns n or -errno), or disable them (n == 0).
  std::function<int(pci_dev&, int n)> sriov_configure;
  bool driver_managed_dma = false;       // does not use the kernel DMA API (VFIO, pci-stub, pcieport)
  const dev_pm_ops* pm = nullptr;        // driver.pm: runtime PM callbacks, if the driver has them
  const pci_error_handlers* err_handler = nullptr;  // AER recovery callbacks, if the driver has them
};

/// to_pci_driver()
inline pci_driver* to_pci_driver(device_driver* drv) { return container_of(drv, &pci_driver::driver); }

class PciDriverCore {
 public:
  /// pci_driver_init(): fills in pci_bus_type's callbacks.
  explicit PciDriverCore(PciCore& pci);
  ~PciDriverCore();
  PciDriverCore(const PciDriverCore&) = delete;
  PciDriverCore& operator=(const PciDriverCore&) = delete;
  bus_type& bus() { return pci_.pci_bus_type; }

  /// pci_register_driver(): adds the driver and binds it to matching unbound devices.
  void register_driver(std::unique_ptr<pci_driver> drv);
  pci_driver* find_driver(const std::string& name) const;
  const std::vector<std::unique_ptr<pci_driver>>& drivers() const { return drivers_; }

  pci_driver* driver_of(const pci_dev& dev) const;
  static const std::string* driver_override(const pci_dev& dev);
  /// driver_override_store(): empty (or "\n") clears it. -EINVAL when too long.
  static int set_driver_override(pci_dev& dev, const std::string& value);

  /// bind_store(): -ENODEV if there is no such device or the driver does not match it, -EBUSY if
  /// it is bound already, else the probe's result.
  int bind(pci_driver& drv, pci_dev& dev);
  /// unbind_store(): -ENODEV unless `dev` is bound to `drv`.
  int unbind(pci_driver& drv, pci_dev& dev);
  /// device_attach() (drivers_probe, a new device): try every matching driver on an unbound
  /// device until one binds; 0, or -errno when a driver could not be tried (see really_probe).
  int probe_device(pci_dev& dev);
  /// pci_match_device() as the driver core calls it.
  bool matches(const pci_driver& drv, const pci_dev& dev) const;

  // Devices that come and go after boot (SR-IOV VFs, rescans), and the bus notifiers that see
  // them (bus.h BUS_NOTIFY_*).
  using BusNotifier = std::function<void(unsigned long action, pci_dev& dev)>;
  /// bus_register_notifier(&pci_bus_type, ...): returns an id for bus_unregister_notifier.
  int bus_register_notifier(BusNotifier fn);
  void bus_unregister_notifier(int id);
  /// pci_device_add() then pci_bus_add_device(): on the bus (device_add: ADD_DEVICE notifiers),
  /// then open to drivers (match_driver) and attached to the first that binds.
  void device_add(pci_dev& dev);
  /// The two halves: pci_device_add()'s device_add() (0 or -errno), and pci_bus_add_device().
  int pci_device_add(pci_dev& dev);
  void pci_bus_add_device(pci_dev& dev);
  /// pci_stop_dev() + pci_destroy_dev()'s device_del(): the driver is released (its remove
  /// runs), DEL_DEVICE and REMOVED_DEVICE notifiers, off the bus.
  void device_del(pci_dev& dev);

  /// Set when an IOMMU manages the bus: iommu_device_use_default_domain() /
  /// iommu_device_unuse_default_domain() around drivers that use the DMA API (pci_dma_configure,
  /// pci_dma_cleanup).
  std::function<int(pci_dev&)> dma_configure;
  std::function<void(pci_dev&)> dma_cleanup;

 private:
  PciCore& pci_;
  std::vector<std::unique_ptr<pci_driver>> drivers_;
};

}  // namespace vfiosim::kernel
