#include "vfio/linux/drivers/pci/pci-driver.h"

#include <algorithm>

#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

namespace {
constexpr size_t kPageSize = 4096;

// pci_device_can_probe(): a VF of a PF with sriov_drivers_autoprobe off needs driver_override.
bool pci_device_can_probe(const pci_dev& dev) {
  return !dev.is_virtfn || !dev.physfn || !dev.physfn->sriov || dev.physfn->sriov->drivers_autoprobe ||
         dev.driver_override;
}
}  // namespace

PciDriverCore::PciDriverCore(PciCore& pci) : pci_(pci) {
  pci_.driver_core = this;
  bus_type& bus = pci_.pci_bus_type;
  // pci_bus_match(): only devices pci_bus_add_device() has opened to drivers.
  bus.match = [this](device* d, device_driver* drv) {
    const pci_dev& dev = *to_pci_dev(d);
    return dev.match_driver && matches(*to_pci_driver(drv), dev) ? 1 : 0;
  };
  // pci_device_probe() -> __pci_device_probe() -> local_pci_probe(): a usage reference across
  // probe, and dev->driver->pm for the probe to see.
  bus.probe = [](device* d) {
    pci_dev& dev = *to_pci_dev(d);
    pci_driver& drv = *to_pci_driver(d->driver);
    if (!pci_device_can_probe(dev)) return -ENODEV;
    pm_runtime_get_sync(d);
    d->power.ops = drv.pm;
    const int ret = drv.probe ? drv.probe(dev) : 0;
    if (ret) {
      d->power.ops = nullptr;
      pm_runtime_put(d);
    }
    return ret;
  };
  // pci_device_remove(): resumed around remove; the probe's usage reference goes after it.
  bus.remove = [](device* d) {
    pci_dev& dev = *to_pci_dev(d);
    pci_driver& drv = *to_pci_driver(d->driver);
    if (drv.remove) {
      pm_runtime_get_sync(d);
      drv.remove(dev);
      pm_runtime_put_noidle(d);
    }
    d->power.ops = nullptr;
    pm_runtime_put(d);
  };
  // pci_dma_configure() / pci_dma_cleanup(): a driver that uses the kernel DMA API takes the
  // group's default domain (iommu_device_use_default_domain), which fails with -EBUSY while
  // userspace owns the group.
  bus.dma_configure = [this](device* d) {
    if (to_pci_driver(d->driver)->driver_managed_dma || !dma_configure) return 0;
    return dma_configure(*to_pci_dev(d));
  };
  bus.dma_cleanup = [this](device* d) {
    if (!to_pci_driver(d->driver)->driver_managed_dma && dma_cleanup) dma_cleanup(*to_pci_dev(d));
  };
}

PciDriverCore::~PciDriverCore() {
  bus_type& bus = pci_.pci_bus_type;
  for (const auto& d : drivers_) {  // the drivers go with us; the bus forgets them
    auto& list = bus.drivers;
    list.erase(std::remove(list.begin(), list.end(), &d->driver), list.end());
    sysfs_remove_dir(&d->driver.kobj);  // nothing in sysfs may reach a freed driver
  }
  bus.match = nullptr;
  bus.probe = nullptr;
  bus.remove = nullptr;
  bus.dma_configure = nullptr;
  bus.dma_cleanup = nullptr;
  bus.notifiers.clear();
  pci_.driver_core = nullptr;
}

pci_driver* PciDriverCore::find_driver(const std::string& name) const {
  device_driver* d = driver_find(name, &pci_.pci_bus_type);
  return d ? to_pci_driver(d) : nullptr;
}

pci_driver* PciDriverCore::driver_of(const pci_dev& dev) const {
  return dev.dev.driver ? to_pci_driver(dev.dev.driver) : nullptr;
}

const std::string* PciDriverCore::driver_override(const pci_dev& dev) { return dev.driver_override.get(); }

// driver_set_override(): a trailing newline is dropped; an empty value clears the override.
int PciDriverCore::set_driver_override(pci_dev& dev, const std::string& value) {
  if (value.size() >= kPageSize - 1) return -EINVAL;
  std::string v = value;
  if (!v.empty() && v.back() == '\n') v.pop_back();
  if (v.empty()) dev.driver_override.reset();
  else dev.driver_override = std::make_unique<std::string>(v);
  return 0;
}

// pci_match_device(): with driver_override set, only that driver matches (and it need not list
// the device in its ID table).
bool PciDriverCore::matches(const pci_driver& drv, const pci_dev& dev) const {
  if (dev.driver_override) return *dev.driver_override == drv.name;
  return drv.id_table && drv.id_table(dev);
}

// bind_store() on /sys/bus/pci/drivers/<drv>/bind.
int PciDriverCore::bind(pci_driver& drv, pci_dev& dev) { return bind_store(&drv.driver, dev.name()); }

// unbind_store() on /sys/bus/pci/drivers/<drv>/unbind.
int PciDriverCore::unbind(pci_driver& drv, pci_dev& dev) { return unbind_store(&drv.driver, dev.name()); }

// bus_rescan_devices_helper() -> device_attach(): 0, or -errno when a driver could not be tried.
int PciDriverCore::probe_device(pci_dev& dev) {
  if (dev.dev.driver) return 0;
  const int ret = device_attach(&dev.dev);
  return ret < 0 ? ret : 0;
}

// __pci_register_driver(): the embedded device_driver on pci_bus_type, then driver_register().
void PciDriverCore::register_driver(std::unique_ptr<pci_driver> drv) {
  pci_driver* d = drv.get();
  d->driver.name = d->name;
  d->driver.bus = &pci_.pci_bus_type;
  drivers_.push_back(std::move(drv));
  if (driver_register(&d->driver) != 0) drivers_.pop_back();
}

int PciDriverCore::bus_register_notifier(BusNotifier fn) {
  return kernel::bus_register_notifier(&pci_.pci_bus_type,
                                       [fn = std::move(fn)](unsigned long action, device* d) { fn(action, *to_pci_dev(d)); });
}

void PciDriverCore::bus_unregister_notifier(int id) { kernel::bus_unregister_notifier(&pci_.pci_bus_type, id); }

// pci_device_add(): on the bus with match_driver off (device_add probes nothing), then
// pci_bus_add_device(): open to drivers and attached.
void PciDriverCore::device_add(pci_dev& dev) {
  if (pci_device_add(dev) == 0) pci_bus_add_device(dev);
}

// pci_device_add(): on the bus with match_driver off.
int PciDriverCore::pci_device_add(pci_dev& dev) {
  dev.dev.bus = &pci_.pci_bus_type;
  dev.match_driver = false;
  const int ret = kernel::device_add(&dev.dev);
  if (ret) kernel_warn("pci_err", dev.name() + ": device_add failed (" + std::to_string(ret) + ")");
  return ret;
}

// pci_bus_add_device(): open to drivers, and attached to the first that binds.
void PciDriverCore::pci_bus_add_device(pci_dev& dev) {
  dev.match_driver = true;
  const int ret = device_attach(&dev.dev);
  if (ret < 0) kernel_warn("pci_warn", dev.name() + ": device attach failed (" + std::to_string(ret) + ")");
}

// pci_stop_dev()'s device_release_driver() and pci_destroy_dev()'s device_del(). Deliberate
// difference: the device is killed before its driver is released, not after, so that a
// drivers_probe racing the removal cannot bind a driver again in between.
void PciDriverCore::device_del(pci_dev& dev) {
  device_ref ref(&dev.dev);
  {
    device_lock_guard lock(&dev.dev);
    kill_device(&dev.dev);
  }
  device_release_driver(&dev.dev);
  kernel::device_del(&dev.dev);
}

}  // namespace vfiosim::kernel
