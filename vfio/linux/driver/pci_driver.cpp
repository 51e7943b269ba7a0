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

int PciDriverCore::bind(pci_driver& drv, pci_dev& dev) {
  Binding& b = binding(dev);
  if (b.driver) return -EBUSY;
  if (!matches(drv, dev)) return -ENODEV;
  // pci_device_can_probe(): a VF of a PF with sriov_drivers_autoprobe off needs driver_override.
  if (dev.is_virtfn && dev.physfn && dev.physfn->sriov && !dev.physfn->sriov->drivers_autoprobe && !b.override_name)
    return -ENODEV;
  // pci_dma_configure(): a driver that uses the kernel DMA API takes the group's default domain
  // (iommu_device_use_default_domain), which fails with -EBUSY while userspace owns the group.
  if (!drv.driver_managed_dma && dma_configure) {
    if (int ret = dma_configure(dev)) return ret;
  }
  // local_pci_probe(): a usage reference across probe; dev->driver (and so dev->driver->pm) is
  // set for the probe to see.
  pm_runtime_get_sync(dev);
  dev.power.ops = drv.pm;
  const int ret = drv.probe ? drv.probe(dev) : 0;
  if (ret == 0) {
    b.driver = &drv;
    notify(BUS_NOTIFY_BOUND_DRIVER, dev);
  } else {
    dev.power.ops = nullptr;
    pm_runtime_put(dev);
    if (!drv.driver_managed_dma && dma_cleanup) dma_cleanup(dev);
  }
  return ret;
}

int PciDriverCore::unbind(pci_driver& drv, pci_dev& dev) {
  Binding& b = binding(dev);
  if (b.driver != &drv) return -ENODEV;
  // pci_device_remove(): resumed around remove; the probe's reference goes after it.
  if (drv.remove) {
    pm_runtime_get_sync(dev);
    drv.remove(dev);
    pm_runtime_put_noidle(dev);
  }
  b.driver = nullptr;
  dev.power.ops = nullptr;
  pm_runtime_put(dev);
  if (!drv.driver_managed_dma && dma_cleanup) dma_cleanup(dev);
  return 0;
}

int PciDriverCore::probe_device(pci_dev& dev) {
  if (binding(dev).driver) return 0;
  for (const auto& d : drivers_)
    if (matches(*d, dev)) return bind(*d, dev);
  return 0;
}

void PciDriverCore::register_driver(std::unique_ptr<pci_driver> drv) {
  pci_driver* d = drv.get();
  drivers_.push_back(std::move(drv));
  for (const auto& dev : pci_.devices())
    if (!binding(*dev).driver && matches(*d, *dev)) bind(*d, *dev);
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
  notify(BUS_NOTIFY_ADD_DEVICE, dev);
  probe_device(dev);  // bind() applies pci_device_can_probe()
}

void PciDriverCore::device_del(pci_dev& dev) {
  Binding& b = binding(dev);
  if (b.driver) unbind(*b.driver, dev);  // device_release_driver()
  notify(BUS_NOTIFY_DEL_DEVICE, dev);
  notify(BUS_NOTIFY_REMOVED_DEVICE, dev);
  for (auto it = bindings_.begin(); it != bindings_.end(); ++it)
    if (it->dev == &dev) {
      bindings_.erase(it);
      break;
    }
}

}  // namespace vfiosim::kernel
