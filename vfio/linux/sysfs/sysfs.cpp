#include "vfio/linux/sysfs/sysfs.h"

#include "vfio/linux/pci/remove.h"

#include <linux/pci_regs.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "vfio/linux/base/errno.h"

namespace vfiosim::kernel {

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const size_t j = path.find('/', i);
    if (i < path.size()) parts.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j;
  }
  return parts;
}

std::string hex(unsigned v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x\n", digits, v);
  return buf;
}

SysfsResult error(int e) { return SysfsResult{-e, {}, {}}; }

// pci_iov_sysfs_link(): a PF's virtfnN and a VF's physfn.
std::optional<std::string> iov_link(const pci_dev& dev, const std::string& name) {
  if (name == "physfn" && dev.is_virtfn) return "../" + dev.physfn->name();
  if (name.compare(0, 6, "virtfn") == 0 && dev.is_physfn) {
    const auto& vfs = dev.sriov->vfs;
    for (size_t i = 0; i < vfs.size(); ++i)
      if (name.substr(6) == std::to_string(i)) return "../" + vfs[i]->name();
  }
  return std::nullopt;
}

const std::vector<std::string> kDeviceFiles = {"class", "device", "driver_override", "remove", "rescan",
                                               "subsystem_device", "subsystem_vendor", "vendor"};

// kstrtoul(buf, 0, &val) of a sysfs write (one trailing newline stripped): false if it is not a number.
bool parse_ulong(const std::string& text, unsigned long& v) {
  try {
    size_t used = 0;
    v = std::stoul(text, &used, 0);
    return used == text.size() && !text.empty() && text[0] != '-';
  } catch (...) {
    return false;
  }
}

}  // namespace

// bus_find_device_by_name(): only a device the driver core has added is on the bus's list; one a
// rescan is still setting up (or one being deleted) is not there yet (any more).
pci_dev* Sysfs::device(const std::string& bdf) const {
  pci_dev* d = pci_.find(bdf);
  return d && device_is_registered(&d->dev) ? d : nullptr;
}

// pci_rescan_bus() under pci_lock_rescan_remove(), then pci_bus_add_devices(): every new
// function is added to the driver core (bus notifiers, then a driver probe), parents first.
void Sysfs::rescan(pci_bus* bus) {
  mutex_guard lock(pci_.rescan_remove_lock());
  for (pci_dev* d : pci_.pci_rescan_bus(bus)) drivers_.device_add(*d);
}

SysfsResult Sysfs::read(const std::string& path) const {
  const SysfsResult r = read_file(path);
  if (r.err != -ENOENT) return r;
  const SysfsResult dir = list(path);
  return dir.err ? dir : error(EISDIR);
}

SysfsResult Sysfs::read_file(const std::string& path) const {
  const auto p = split(path);
  // /sys/bus/pci/devices/<bdf>/<attr>
  if (p.size() == 6 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "devices") {
    pci_dev* dev = device(p[4]);
    if (!dev) return error(ENOENT);
    const std::string& a = p[5];
    if (a == "vendor") return {0, hex(dev->vendor, 4), {}};
    if (a == "device") return {0, hex(dev->device, 4), {}};
    if (a == "class") return {0, hex(dev->class_code, 6), {}};
    if (a == "subsystem_vendor" || a == "subsystem_device") return {0, hex(0, 4), {}};
    if (a == "driver_override") {
      const std::string* o = drivers_.driver_override(*dev);
      return {0, (o ? *o : std::string("(null)")) + "\n", {}};
    }
    if (a == "iommu_group") return dev->dev.iommu_group ? error(EISDIR) : error(ENOENT);
    if (a == "remove" || a == "rescan") return error(EACCES);  // --w-------
    if (iov_ && a.compare(0, 6, "sriov_") == 0) {
      std::string v;
      const int err = iov_->show(*dev, a, v);
      return err ? error(-err) : SysfsResult{0, v, {}};
    }
    if (iov_link(*dev, a)) return error(EISDIR);  // virtfnN, physfn: links to device directories
    if (a == "driver") return drivers_.driver_of(*dev) ? error(EISDIR) : error(ENOENT);
    return error(ENOENT);
  }
  // write-only driver files
  if (p.size() == 6 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "drivers" &&
      (p[5] == "bind" || p[5] == "unbind"))
    return drivers_.find_driver(p[4]) ? error(EACCES) : error(ENOENT);
  if (p.size() == 4 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && (p[3] == "drivers_probe" || p[3] == "rescan"))
    return error(EACCES);
  return error(ENOENT);
}

SysfsResult Sysfs::readlink(const std::string& path) const {
  const auto p = split(path);
  if (p.size() == 6 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "devices") {
    pci_dev* dev = device(p[4]);
    if (!dev) return error(ENOENT);
    if (p[5] == "iommu_group") {
      if (!dev->dev.iommu_group) return error(ENOENT);
      return {0, "../../../../kernel/iommu_groups/" + std::to_string(dev->dev.iommu_group->id), {}};
    }
    if (p[5] == "driver") {
      const pci_driver* d = drivers_.driver_of(*dev);
      if (!d) return error(ENOENT);
      return {0, "../../../../bus/pci/drivers/" + d->name, {}};
    }
    if (const auto target = iov_link(*dev, p[5])) return {0, *target, {}};
  }
  const SysfsResult r = read(path);
  return r.err == -ENOENT ? r : error(EINVAL);
}

SysfsResult Sysfs::write(const std::string& path, const std::string& value) {
  const auto p = split(path);
  const int written = static_cast<int>(value.size());
  std::string bdf = value;
  if (!bdf.empty() && bdf.back() == '\n') bdf.pop_back();
  if (p.size() == 6 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "devices") {
    pci_dev* dev = device(p[4]);
    if (!dev) return error(ENOENT);
    device_ref ref(&dev->dev);  // the open attribute keeps the device while its store sleeps
    if (p[5] == "driver_override") {
      const int err = drivers_.set_driver_override(*dev, value);
      return err ? error(-err) : SysfsResult{written, {}, {}};
    }
    if (p[5] == "remove") {  // remove_store(): kstrtoul, and only a non-zero value removes
      unsigned long v = 0;
      if (!parse_ulong(bdf, v)) return error(EINVAL);
      if (v) pci_stop_and_remove_bus_device_locked(pci_, drivers_, *dev);
      return {written, {}, {}};
    }
    if (p[5] == "rescan") {  // dev_rescan_store(): the device's own bus
      unsigned long v = 0;
      if (!parse_ulong(bdf, v)) return error(EINVAL);
      if (v) rescan(dev->bus);
      return {written, {}, {}};
    }
    if (iov_ && dev->is_physfn && (p[5] == "sriov_numvfs" || p[5] == "sriov_drivers_autoprobe")) {
      const int ret = p[5] == "sriov_numvfs" ? iov_->sriov_numvfs_store(*dev, value)
                                             : iov_->sriov_drivers_autoprobe_store(*dev, value);
      return ret < 0 ? error(-ret) : SysfsResult{ret, {}, {}};
    }
    if (iov_ && dev->is_physfn && p[5].compare(0, 6, "sriov_") == 0) {
      std::string v;
      if (!iov_->show(*dev, p[5], v)) return error(EACCES);  // read-only SR-IOV attributes
    }
    const bool exists = std::find(kDeviceFiles.begin(), kDeviceFiles.end(), p[5]) != kDeviceFiles.end();
    return error(exists ? EACCES : ENOENT);  // the other attributes are read-only
  }
  if (p.size() == 6 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "drivers") {
    pci_driver* drv = drivers_.find_driver(p[4]);
    if (!drv || (p[5] != "bind" && p[5] != "unbind")) return error(ENOENT);
    pci_dev* dev = device(bdf);
    if (!dev) return error(ENODEV);  // bus_find_device_by_name() found nothing
    const int err = p[5] == "bind" ? drivers_.bind(*drv, *dev) : drivers_.unbind(*drv, *dev);
    return err ? error(-err) : SysfsResult{written, {}, {}};
  }
  if (p.size() == 4 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "rescan") {  // bus_rescan_store()
    unsigned long v = 0;
    if (!parse_ulong(bdf, v)) return error(EINVAL);
    if (v) rescan(pci_.root_bus());
    return {written, {}, {}};
  }
  if (p.size() == 4 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "drivers_probe") {
    // drivers_probe_store(): -ENODEV for no such device, -EINVAL when no driver could be tried;
    // a driver whose probe failed is not an error of the write.
    pci_dev* dev = device(bdf);
    if (!dev) return error(ENODEV);
    return drivers_.probe_device(*dev) < 0 ? error(EINVAL) : SysfsResult{written, {}, {}};
  }
  const SysfsResult dir = list(path);
  return dir.err ? dir : error(EISDIR);
}

SysfsResult Sysfs::list(const std::string& path) const {
  const auto p = split(path);
  SysfsResult r;
  auto is = [&](std::initializer_list<const char*> want) {
    if (p.size() != want.size()) return false;
    size_t i = 0;
    for (const char* w : want)
      if (p[i++] != w) return false;
    return true;
  };
  if (is({"sys", "bus", "pci", "devices"})) {
    for (const auto& d : pci_.devices())
      if (device_is_registered(&d->dev)) r.entries.push_back(d->name());
  } else if (p.size() == 5 && is({"sys", "bus", "pci", "devices", p.size() == 5 ? p[4].c_str() : ""})) {
    pci_dev* dev = device(p[4]);
    if (!dev) return error(ENOENT);
    r.entries = kDeviceFiles;
    if (drivers_.driver_of(*dev)) r.entries.push_back("driver");
    if (dev->dev.iommu_group) r.entries.push_back("iommu_group");
    if (iov_ && dev->is_physfn) {
      for (const char* a : {"sriov_drivers_autoprobe", "sriov_numvfs", "sriov_offset", "sriov_stride",
                            "sriov_totalvfs", "sriov_vf_device"})
        r.entries.push_back(a);
      for (size_t i = 0; i < dev->sriov->vfs.size(); ++i) r.entries.push_back("virtfn" + std::to_string(i));
    }
    if (dev->is_virtfn) r.entries.push_back("physfn");
  } else if (is({"sys", "bus", "pci", "drivers"})) {
    for (const auto& d : drivers_.drivers()) r.entries.push_back(d->name);
  } else if (p.size() == 5 && p[0] == "sys" && p[1] == "bus" && p[2] == "pci" && p[3] == "drivers") {
    pci_driver* drv = drivers_.find_driver(p[4]);
    if (!drv) return error(ENOENT);
    r.entries = {"bind", "unbind"};
    for (const auto& d : pci_.devices())
      if (drivers_.driver_of(*d) == drv) r.entries.push_back(d->name());
  } else if (is({"sys", "kernel", "iommu_groups"})) {
    for (const auto& g : groups_.groups()) r.entries.push_back(std::to_string(g->id));
  } else if (p.size() == 5 && p[0] == "sys" && p[1] == "kernel" && p[2] == "iommu_groups" && p[4] == "devices") {
    for (const auto& g : groups_.groups())
      if (std::to_string(g->id) == p[3])
        for (const auto* d : g->devices) r.entries.push_back(dev_name(d));
    if (r.entries.empty()) return error(ENOENT);
  } else if (p.size() == 4 && p[0] == "sys" && p[1] == "kernel" && p[2] == "iommu_groups") {
    bool found = false;
    for (const auto& g : groups_.groups()) found |= std::to_string(g->id) == p[3];
    if (!found) return error(ENOENT);
    r.entries = {"devices"};
  } else {
    return read_file(path).err != -ENOENT ? error(ENOTDIR) : error(ENOENT);
  }
  std::sort(r.entries.begin(), r.entries.end());
  return r;
}

}  // namespace vfiosim::kernel
