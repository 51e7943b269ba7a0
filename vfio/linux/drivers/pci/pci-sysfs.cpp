// drivers/pci/pci-sysfs.c (v6.1): the PCI device and bus attributes VFIO userspace uses.
#include "vfio/linux/drivers/pci/pci-sysfs.h"

#include <cstdio>

#include "vfio/linux/lib/errname.h"
#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/pci/remove.h"

namespace vfiosim::kernel {

namespace {

pci_dev* kobj_to_pci_dev(kobject* kobj) { return to_pci_dev(kobj_to_dev(kobj)); }
PciCore* pci_core_of(bus_type* bus) { return container_of(bus, &PciCore::pci_bus_type); }

long emit_hex(std::string& buf, unsigned v, int digits) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%0*x\n", digits, v);
  buf = s;
  return static_cast<long>(buf.size());
}

// kstrtoul(buf, 0, &val): one trailing newline allowed; false for anything else but a number.
bool parse_ulong(std::string text, unsigned long& v) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  try {
    size_t used = 0;
    v = std::stoul(text, &used, 0);
    return used == text.size() && !text.empty() && text[0] != '-';
  } catch (...) {
    return false;
  }
}

// pci_rescan_bus() under pci_lock_rescan_remove(), then pci_bus_add_devices(): every new function
// goes to the driver core (bus notifiers, then a driver probe), parents first.
void pci_rescan_bus_locked(PciCore& pci, pci_bus* bus) {
  mutex_guard lock(pci.rescan_remove_lock());
  for (pci_dev* d : pci.pci_rescan_bus(bus))
    if (pci.driver_core) pci.driver_core->device_add(*d);
}

// pci_config_attr(): vendor, device, subsystem_vendor, subsystem_device, class (the port reads no
// subsystem IDs, so those show 0).
const attribute dev_attr_vendor{"vendor", S_IRUGO, [](kobject* k, std::string& buf) {
                                  return emit_hex(buf, kobj_to_pci_dev(k)->vendor, 4);
                                }, nullptr};
const attribute dev_attr_device{"device", S_IRUGO, [](kobject* k, std::string& buf) {
                                  return emit_hex(buf, kobj_to_pci_dev(k)->device, 4);
                                }, nullptr};
const attribute dev_attr_subsystem_vendor{"subsystem_vendor", S_IRUGO,
                                          [](kobject*, std::string& buf) { return emit_hex(buf, 0, 4); }, nullptr};
const attribute dev_attr_subsystem_device{"subsystem_device", S_IRUGO,
                                          [](kobject*, std::string& buf) { return emit_hex(buf, 0, 4); }, nullptr};
const attribute dev_attr_class{"class", S_IRUGO, [](kobject* k, std::string& buf) {
                                 return emit_hex(buf, kobj_to_pci_dev(k)->class_code, 6);
                               }, nullptr};

// driver_override_show() / driver_override_store() -> driver_set_override()
const attribute dev_attr_driver_override{
    "driver_override", S_IWUSR | S_IRUGO,
    [](kobject* k, std::string& buf) {
      const std::string* o = PciDriverCore::driver_override(*kobj_to_pci_dev(k));
      buf = (o ? *o : std::string("(null)")) + "\n";
      return static_cast<long>(buf.size());
    },
    [](kobject* k, const std::string& buf) {
      const int ret = PciDriverCore::set_driver_override(*kobj_to_pci_dev(k), buf);
      return ret ? static_cast<long>(ret) : static_cast<long>(buf.size());
    }};

// remove_store(): a non-zero value removes the device (and what is below it).
const attribute dev_attr_remove{"remove", S_IWUSR | S_IWGRP, nullptr, [](kobject* k, const std::string& buf) {
                                  unsigned long val = 0;
                                  if (!parse_ulong(buf, val)) return static_cast<long>(-EINVAL);
                                  pci_dev* pdev = kobj_to_pci_dev(k);
                                  PciCore* pci = pci_core_of(pdev->dev.bus);
                                  if (val && pci->driver_core)
                                    pci_stop_and_remove_bus_device_locked(*pci, *pci->driver_core, *pdev);
                                  return static_cast<long>(buf.size());
                                }};

// dev_rescan_store(): a non-zero value rescans the device's own bus.
const attribute dev_attr_dev_rescan{"rescan", S_IWUSR, nullptr, [](kobject* k, const std::string& buf) {
                                      unsigned long val = 0;
                                      if (!parse_ulong(buf, val)) return static_cast<long>(-EINVAL);
                                      pci_dev* pdev = kobj_to_pci_dev(k);
                                      device_ref ref(&pdev->dev);  // the rescan sleeps
                                      if (val) pci_rescan_bus_locked(*pci_core_of(pdev->dev.bus), pdev->bus);
                                      return static_cast<long>(buf.size());
                                    }};

// bus_rescan_store(): a non-zero value rescans from the root bus.
const attribute bus_attr_rescan{"rescan", S_IWUSR, nullptr, [](kobject* k, const std::string& buf) {
                                  unsigned long val = 0;
                                  if (!parse_ulong(buf, val)) return static_cast<long>(-EINVAL);
                                  PciCore* pci = pci_core_of(container_of(k, &bus_type::subsys));
                                  if (val) pci_rescan_bus_locked(*pci, pci->root_bus());
                                  return static_cast<long>(buf.size());
                                }};

const attribute_group pci_bus_group{"", nullptr, {&bus_attr_rescan}};
const attribute_group pci_dev_group{"", nullptr,
                                    {&dev_attr_vendor, &dev_attr_device, &dev_attr_subsystem_vendor,
                                     &dev_attr_subsystem_device, &dev_attr_class, &dev_attr_driver_override}};
// pci_dev_hp_attr_group. Deliberate difference: pci_dev_hp_attrs_are_visible() hides remove and
// rescan on a VF; here a VF has them, as the port's lifecycle tests (a VF removed on its own
// before its PF disables SR-IOV) rely on.
const attribute_group pci_dev_hp_attr_group{"", nullptr, {&dev_attr_remove, &dev_attr_dev_rescan}};

}  // namespace

std::vector<const attribute_group*> pci_bus_groups() { return {&pci_bus_group}; }

std::vector<const attribute_group*> pci_dev_groups() {
  return {&pci_dev_group, &pci_dev_hp_attr_group, &sriov_pf_dev_attr_group};
}

}  // namespace vfiosim::kernel
