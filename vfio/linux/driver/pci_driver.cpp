#include "vfio/linux/driver/pci_driver.h"

#include "vfio/linux/base/errno.h"

namespace vfiosim::kernel {

namespace {
constexpr size_t kPageSize = 4096;
}

PciDriverCore::Binding& PciDriverCore::binding(const pci_dev& dev) const {
  for (auto& b : bindings_)
    if (b.dev == &dev) return b;
  bindings_.push_back(Binding{const_cast<pci_dev*>(&dev), nullptr, nullptr});
  return bindings_.back();
}

pci_driver* PciDriverCore::find_driver(const std::string& name) const {
  for (const auto& d : drivers_)
    if (d->name == name) return d.get();
  return nullptr;
}

pci_driver* PciDriverCore::driver_of(const pci_dev& dev) const { return binding(dev).driver; }

const std::string* PciDriverCore::driver_override(const pci_dev& dev) const {
  return binding(dev).override_name.get();
}

// driver_set_override(): a trailing newline is dropped; an empty value clears the override.
int PciDriverCore::set_driver_override(pci_dev& dev, const std::string& value) {
  if (value.size() >= kPageSize - 1) return -EINVAL;
  std::string v = value;
  if (!v.empty() && v.back() == '\n') v.pop_back();
  Binding& b = binding(dev);
  if (v.empty()) b.override_name.reset();
  else b.override_name = std::make_unique<std::string>(v);
  return 0;
}

// pci_match_device(): with driver_override set, only that driver matches (and it need not list
// the device in its ID table).
bool PciDriverCore::matches(const pci_driver& drv, const pci_dev& dev) const {
  if (const std::string* o = driver_override(dev)) return *o == drv.name;
  return drv.id_table && drv.id_table(dev);
}

// __driver_probe_device() and really_probe() with the PCI bus's probe (pci_device_probe,
// local_pci_probe), called with the device lock held. Returns 0 when bound; a negative errno when
// the device cannot be probed at all (being removed: -ENODEV, bound: -EBUSY, the DMA set-up
// failed); the probe's own error as a positive number (v6.1 flips it so that a caller trying
// every driver can tell it apart and go on to the next one).
int PciDriverCore::really_probe(pci_driver& drv, pci_dev& dev) {
  Binding& b = binding(dev);
  if (dev.dev.dead || !device_is_registered(&dev.dev)) return -ENODEV;  // dev->p->dead
  if (b.driver) return -EBUSY;
  // pci_dma_configure(): a driver that uses the kernel DMA API takes the group's default domain
  // (iommu_device_use_default_domain), which fails with -EBUSY while userspace owns the group.
  if (!drv.driver_managed_dma && dma_configure) {
    if (int ret = dma_configure(dev)) return ret;
  }
  int ret = 0;
  // pci_device_can_probe(): a VF of a PF with sriov_drivers_autoprobe off needs driver_override.
  if (dev.is_virtfn && dev.physfn && dev.physfn->sriov && !dev.physfn->sriov->drivers_autoprobe && !b.override_name) {
    ret = -ENODEV;
  } else {
    // local_pci_probe(): a usage reference across probe; dev->driver (and so dev->driver->pm) is
    // set for the probe to see.
    pm_runtime_get_sync(dev);
    dev.power.ops = drv.pm;
    ret = drv.probe ? drv.probe(dev) : 0;
    if (ret) {
      dev.power.ops = nullptr;
      pm_runtime_put(dev);
    }
  }
  if (ret == 0) {
    b.driver = &drv;
    notify(BUS_NOTIFY_BOUND_DRIVER, dev);
    return 0;
  }
  // call_driver_probe(): -ENODEV and -ENXIO reject the match quietly; any other error is logged.
  if (ret != -ENODEV && ret != -ENXIO)
    kernel_warn("pr_warn", drv.name + ": probe of " + dev.name() + " failed with error " + std::to_string(ret));
  if (!drv.driver_managed_dma && dma_cleanup) dma_cleanup(dev);
  return -ret;
}

// bind_store(): the driver must match; device_driver_attach() probes under the device lock.
// The caller's reference keeps `dev` alive if it is removed while the probe sleeps.
int PciDriverCore::bind(pci_driver& drv, pci_dev& dev) {
  device_ref ref(&dev.dev);
  if (!matches(drv, dev)) return -ENODEV;
  device_lock_guard lock(&dev.dev);
  const int ret = really_probe(drv, dev);
  return ret > 0 ? -ret : ret;  // device_driver_attach(): probe errors as negative errnos
}

// __device_release_driver() with the PCI bus's remove (pci_device_remove), device lock held.
void PciDriverCore::release_driver(pci_dev& dev) {
  Binding& b = binding(dev);
  pci_driver* drv = b.driver;
  if (!drv) return;
  // pci_device_remove(): resumed around remove; the probe's reference goes after it.
  if (drv->remove) {
    pm_runtime_get_sync(dev);
    drv->remove(dev);
    pm_runtime_put_noidle(dev);
  }
  b.driver = nullptr;
  dev.power.ops = nullptr;
  pm_runtime_put(dev);
  if (!drv->driver_managed_dma && dma_cleanup) dma_cleanup(dev);
}

// unbind_store(): -ENODEV unless `drv` has the device; device_driver_detach() then releases it
// under the device lock if it still has it (a removal may have come first).
int PciDriverCore::unbind(pci_driver& drv, pci_dev& dev) {
  device_ref ref(&dev.dev);
  if (binding(dev).driver != &drv) return -ENODEV;
  device_lock_guard lock(&dev.dev);
  if (binding(dev).driver == &drv) release_driver(dev);
  return 0;
}

// bus_rescan_devices_helper() -> device_attach() -> __device_attach(): under the device lock,
// nothing for a device being removed or already bound; otherwise each matching driver in turn
// until one binds (a driver whose probe fails lets the next one try). Negative only when a
// driver could not be tried at all.
int PciDriverCore::probe_device(pci_dev& dev) {
  device_ref ref(&dev.dev);
  if (binding(dev).driver) return 0;
  device_lock_guard lock(&dev.dev);
  if (dev.dev.dead || binding(dev).driver) return 0;
  for (const auto& d : drivers_) {
    if (!matches(*d, dev)) continue;
    const int ret = really_probe(*d, dev);  // __device_attach_driver()
    if (ret <= 0) return ret;
  }
  return 0;
}

void PciDriverCore::register_driver(std::unique_ptr<pci_driver> drv) {
  pci_driver* d = drv.get();
  drivers_.push_back(std::move(drv));
  // driver_attach(): each device under its lock, with references on all of them taken before
  // the first probe sleeps (a probe may remove others, e.g. a PF driver's VFs).
  const std::vector<pci_dev*> devs = pci_.devices();
  for (pci_dev* dev : devs) pci_dev_get(dev);
  for (pci_dev* dev : devs)
    if (!dev->dev.dead && !binding(*dev).driver && matches(*d, *dev)) bind(*d, *dev);
  for (pci_dev* dev : devs) pci_dev_put(dev);
}

}  // namespace vfiosim::kernel

namespace vfiosim::kernel {

int PciDriverCore::bus_register_notifier(BusNotifier fn) {
  const int id = next_notifier_++;
  notifiers_[id] = std::move(fn);
  return id;
}

void PciDriverCore::bus_unregister_notifier(int id) { notifiers_.erase(id); }

void PciDriverCore::notify(unsigned long action, pci_dev& dev) {
  for (auto& [id, fn] : std::map<int, BusNotifier>(notifiers_)) fn(action, dev);  // a notifier may unregister
}

void PciDriverCore::device_add(pci_dev& dev) {
  dev.dev.registered = true;  // bus_add_device(): on the bus's list from now on
  notify(BUS_NOTIFY_ADD_DEVICE, dev);
  probe_device(dev);  // bind() applies pci_device_can_probe()
}

// pci_stop_dev()'s device_release_driver() and device_del(): under the device lock the device
// is killed (no probe may start on it any more, one waiting for the lock finds it dead) and its
// driver released; then the bus notifiers.
void PciDriverCore::device_del(pci_dev& dev) {
  device_ref ref(&dev.dev);
  {
    device_lock_guard lock(&dev.dev);
    kill_device(&dev.dev);
    release_driver(dev);
    dev.dev.registered = false;  // bus_remove_device(): off the bus's list
  }
  notify(BUS_NOTIFY_DEL_DEVICE, dev);
  notify(BUS_NOTIFY_REMOVED_DEVICE, dev);
  for (auto it = bindings_.begin(); it != bindings_.end(); ++it)
    if (it->dev == &dev) {
      bindings_.erase(it);
      break;
    }
}

}  // namespace vfiosim::kernel
