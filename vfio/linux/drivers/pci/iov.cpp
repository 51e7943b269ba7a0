#include "vfio/linux/drivers/pci/iov.h"

#include <linux/pci_regs.h>

#include <cstdio>
#include <cstdlib>

#include <systemc>

#include "vfio/linux/lib/errname.h"

namespace vfiosim::kernel {

namespace {
constexpr uint32_t kPageSize = 4096;
}

// sriov_init(): VF Enable off, the system page size, offset/stride for TotalVFs, and each VF
// BAR sized (its size times TotalVFs is the IOV resource).
void pci_iov_init(PciCore& pci, pci_dev& dev) {
  if (!dev.is_pcie() || dev.is_virtfn) return;
  const int pos = pci.find_ext_capability(dev.bus->number, dev.devfn, PCI_EXT_CAP_ID_SRIOV);
  if (!pos) return;
  auto iov = std::make_shared<pci_sriov>();
  iov->pos = pos;
  uint16_t ctrl = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_CTRL, 2));
  if (ctrl & PCI_SRIOV_CTRL_VFE) {
    pci.write_config(dev, pos + PCI_SRIOV_CTRL, 2, 0);
    sc_core::wait(100, sc_core::SC_MS);  // ssleep/msleep as the kernel does
  }
  ctrl = 0;
  if (dev.bus->self && dev.bus->self->ari_enabled) ctrl |= PCI_SRIOV_CTRL_ARI;  // pci_ari_enabled()
  pci.write_config(dev, pos + PCI_SRIOV_CTRL, 2, ctrl);
  iov->total_VFs = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_TOTAL_VF, 2));
  if (!iov->total_VFs) return;
  const uint32_t pgsz = pci.read_config(dev, pos + PCI_SRIOV_SUP_PGSIZE, 4) & (kPageSize >> 12);
  if (!pgsz) return;  // PAGE_SIZE not supported
  iov->pgsz = pgsz;
  pci.write_config(dev, pos + PCI_SRIOV_SYS_PGSIZE, 4, pgsz);
  for (int i = 0; i < PCI_SRIOV_NUM_BARS; ++i) {
    resource& r = dev.res[PCI_IOV_RESOURCES + i];
    const bool is64 = pci.pci_read_base(dev, pos + PCI_SRIOV_BAR + 4 * i, r);
    if (!(r.flags & IORESOURCE_MEM)) {  // an I/O VF BAR is not allowed
      r = {};
      continue;
    }
    iov->barsz[i] = r.size();
    r.end = iov->barsz[i] * iov->total_VFs - 1;
    ++iov->nres;
    if (is64) ++i;
  }
  iov->cap = pci.read_config(dev, pos + PCI_SRIOV_CAP, 4);
  iov->ctrl = ctrl;
  iov->initial_VFs = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_INITIAL_VF, 2));
  iov->driver_max_VFs = iov->total_VFs;
  iov->link = static_cast<uint8_t>(pci.read_config(dev, pos + PCI_SRIOV_FUNC_LINK, 1));
  // compute_max_vf_buses(): offset and stride as they read with NumVFs = TotalVFs
  pci.write_config(dev, pos + PCI_SRIOV_NUM_VF, 2, iov->total_VFs);
  iov->offset = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_VF_OFFSET, 2));
  iov->stride = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_VF_STRIDE, 2));
  pci.write_config(dev, pos + PCI_SRIOV_NUM_VF, 2, 0);
  iov->vf_device = static_cast<uint16_t>(pci.read_config(dev, pos + PCI_SRIOV_VF_DID, 2));
  dev.sriov = iov;
  dev.is_physfn = true;
}

uint64_t pci_iov_resource_size(const pci_dev& dev, int resno) {
  if (!dev.is_physfn || resno < PCI_IOV_RESOURCES || resno > PCI_IOV_RESOURCE_END) return 0;
  return dev.sriov->barsz[resno - PCI_IOV_RESOURCES];
}

void pci_iov_update_resource(PciCore& pci, pci_dev& dev, int resno) {
  if (!dev.is_physfn) return;
  pci.pci_update_bar(dev, dev.sriov->pos + PCI_SRIOV_BAR + 4 * (resno - PCI_IOV_RESOURCES), dev.res[resno]);
}

unsigned pci_iov_virtfn_devfn(const pci_dev& dev, int vf_id) {
  return (dev.devfn + dev.sriov->offset + dev.sriov->stride * static_cast<unsigned>(vf_id)) & 0xff;
}

int pci_num_vf(const pci_dev& dev) { return dev.is_physfn ? dev.sriov->num_VFs : 0; }

// pci_iov_add_virtfn(): the VF as a pci_dev of its own, its BARs carved from the PF's IOV
// resources, then added to the bus (notifiers, driver probe).
int PciIov::pci_iov_add_virtfn(pci_dev& dev, int id) {
  pci_sriov& iov = *dev.sriov;
  pci_dev& vf = pci_.pci_alloc_dev(dev.bus, pci_iov_virtfn_devfn(dev, id));
  vf.vendor = dev.vendor;
  vf.device = iov.vf_device;
  vf.is_virtfn = true;
  vf.physfn = pci_dev_get(&dev);  // put when the VF is freed
  pci_.pci_setup_device(vf);
  vf.multifunction = false;
  for (int i = 0; i < PCI_SRIOV_NUM_BARS; ++i) {
    const resource& r = dev.res[PCI_IOV_RESOURCES + i];
    if (!r.flags || (r.flags & IORESOURCE_UNSET)) continue;
    const uint64_t size = pci_iov_resource_size(dev, PCI_IOV_RESOURCES + i);
    vf.res[i].flags = r.flags;
    vf.res[i].start = r.start + size * static_cast<uint64_t>(id);
    vf.res[i].end = vf.res[i].start + size - 1;
  }
  iov.vfs.push_back(pci_dev_get(&vf));  // the PF's list holds the VF (pci_get_domain_bus_and_slot)
  if (drivers_.pci_device_add(vf) == 0) {
    pci_iov_sysfs_link(dev, vf, id);  // before a driver may probe the VF
    drivers_.pci_bus_add_device(vf);
  }
  return 0;
}

// pci_iov_sysfs_link(): the PF's virtfn<id> and the VF's physfn (devices out of sysfs get none).
void PciIov::pci_iov_sysfs_link(pci_dev& dev, pci_dev& virtfn, int id) {
  if (!dev.dev.sysfs.sd || !virtfn.dev.sysfs.sd) return;
  if (sysfs_create_link(&dev.dev.sysfs, &virtfn.dev.sysfs, "virtfn" + std::to_string(id))) return;
  if (sysfs_create_link(&virtfn.dev.sysfs, &dev.dev.sysfs, "physfn"))
    sysfs_remove_link(&dev.dev.sysfs, "virtfn" + std::to_string(id));
}

// pci_iov_remove_virtfn() -> pci_stop_and_remove_bus_device()
void PciIov::pci_iov_remove_virtfn(pci_dev& dev, int id) {
  pci_sriov& iov = *dev.sriov;
  if (id < 0 || static_cast<size_t>(id) >= iov.vfs.size()) return;
  pci_dev* vf = iov.vfs[static_cast<size_t>(id)];
  iov.vfs.erase(iov.vfs.begin() + id);
  sysfs_remove_link(&dev.dev.sysfs, "virtfn" + std::to_string(id));
  if (vf->dev.sysfs.sd) sysfs_remove_link(&vf->dev.sysfs, "physfn");  // the VF may be gone already
  // A VF already removed on its own (its sysfs remove) is not found again: only the reference goes.
  if (!vf->dev.dead) {
    drivers_.device_del(*vf);
    pci_.pci_destroy_dev(vf);
  }
  pci_dev_put(vf);
}

// sriov_enable()
int PciIov::pci_enable_sriov(pci_dev& dev, int nr_virtfn) {
  if (!dev.is_physfn) return -ENODEV;
  pci_sriov& iov = *dev.sriov;
  if (!nr_virtfn) return 0;
  if (iov.num_VFs) return -EINVAL;
  uint16_t initial = static_cast<uint16_t>(pci_.read_config(dev, iov.pos + PCI_SRIOV_INITIAL_VF, 2));
  if (initial > iov.total_VFs || (!(iov.cap & PCI_SRIOV_CAP_VFM) && initial != iov.total_VFs)) return -EIO;
  if (nr_virtfn < 0 || nr_virtfn > iov.total_VFs || (!(iov.cap & PCI_SRIOV_CAP_VFM) && nr_virtfn > initial))
    return -EINVAL;
  int nres = 0;
  for (int i = 0; i < PCI_SRIOV_NUM_BARS; ++i) {
    const resource& r = dev.res[PCI_IOV_RESOURCES + i];
    if (r.flags && !(r.flags & IORESOURCE_UNSET)) ++nres;  // res->parent: assigned
  }
  if (nres != iov.nres) return -ENOMEM;  // "not enough MMIO resources for SR-IOV"
  // pci_enable_resources(dev, bars): the PF decodes memory
  const uint32_t cmd = pci_.read_config(dev, PCI_COMMAND, 2);
  if (nres && !(cmd & PCI_COMMAND_MEMORY)) pci_.write_config(dev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
  iov.initial_VFs = initial;
  if (nr_virtfn < initial) initial = static_cast<uint16_t>(nr_virtfn);
  pci_.write_config(dev, iov.pos + PCI_SRIOV_NUM_VF, 2, static_cast<uint32_t>(nr_virtfn));  // pci_iov_set_numvfs
  iov.offset = static_cast<uint16_t>(pci_.read_config(dev, iov.pos + PCI_SRIOV_VF_OFFSET, 2));
  iov.stride = static_cast<uint16_t>(pci_.read_config(dev, iov.pos + PCI_SRIOV_VF_STRIDE, 2));
  iov.ctrl |= PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE;
  pci_.write_config(dev, iov.pos + PCI_SRIOV_CTRL, 2, iov.ctrl);
  sc_core::wait(100, sc_core::SC_MS);  // msleep(100): VFs are not ready before
  for (int id = 0; id < initial; ++id)  // sriov_add_vfs()
    if (int rc = pci_iov_add_virtfn(dev, id)) {
      while (id--) pci_iov_remove_virtfn(dev, id);
      return rc;
    }
  iov.num_VFs = static_cast<uint16_t>(nr_virtfn);
  return 0;
}

// sriov_disable()
void PciIov::pci_disable_sriov(pci_dev& dev) {
  if (!dev.is_physfn) return;
  pci_sriov& iov = *dev.sriov;
  if (!iov.num_VFs) return;
  for (int id = static_cast<int>(iov.vfs.size()) - 1; id >= 0; --id) pci_iov_remove_virtfn(dev, id);  // sriov_del_vfs
  iov.ctrl &= static_cast<uint16_t>(~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE));
  pci_.write_config(dev, iov.pos + PCI_SRIOV_CTRL, 2, iov.ctrl);
  sc_core::wait(1, sc_core::SC_SEC);  // ssleep(1)
  iov.num_VFs = 0;
  pci_.write_config(dev, iov.pos + PCI_SRIOV_NUM_VF, 2, 0);
}

namespace {
// kstrtou16(buf, 0, ...): decimal, 0x hex or 0 octal, an optional trailing newline.
bool parse_u16(const std::string& buf, uint16_t& out) {
  std::string s = buf;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (s.empty() || s[0] == '-' || s[0] == ' ' || s[0] == '+') return false;
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (*end || v > 0xffff) return false;
  out = static_cast<uint16_t>(v);
  return true;
}
}  // namespace

// sriov_numvfs_store()
int sriov_numvfs_store(pci_dev& dev, const std::string& buf) {
  if (!dev.is_physfn) return -ENOENT;  // the attribute is not visible
  uint16_t num_vfs = 0;
  if (!parse_u16(buf, num_vfs)) return -EINVAL;
  if (num_vfs > dev.sriov->driver_max_VFs) return -ERANGE;  // pci_sriov_get_totalvfs()
  // Under the PF's device lock, as in the kernel: a removal or unbind that comes while the VFs
  // are being enabled (100 ms) waits, and then its driver's remove takes them down again.
  device_lock_guard lock(&dev.dev);
  int ret = 0;
  if (num_vfs == dev.sriov->num_VFs) return static_cast<int>(buf.size());
  pci_driver* drv = dev.dev.driver ? to_pci_driver(dev.dev.driver) : nullptr;
  if (!drv || !drv->sriov_configure) return -ENOENT;  // no PF driver, or one without the callback
  if (num_vfs == 0) {
    ret = drv->sriov_configure(dev, 0);
  } else if (dev.sriov->num_VFs) {
    ret = -EBUSY;  // "%d VFs already enabled. Disable before enabling %d VFs"
  } else {
    ret = drv->sriov_configure(dev, num_vfs);
  }
  return ret < 0 ? ret : static_cast<int>(buf.size());
}

// sriov_drivers_autoprobe_store()
int sriov_drivers_autoprobe_store(pci_dev& dev, const std::string& buf) {
  if (!dev.is_physfn) return -ENOENT;
  std::string s = buf;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  // kstrtobool(): y/Y/1/on vs n/N/0/off
  if (s == "1" || s == "y" || s == "Y" || s == "on") dev.sriov->drivers_autoprobe = true;
  else if (s == "0" || s == "n" || s == "N" || s == "off") dev.sriov->drivers_autoprobe = false;
  else return -EINVAL;
  return static_cast<int>(buf.size());
}

namespace {

pci_dev* kobj_to_pci_dev(kobject* kobj) { return to_pci_dev(kobj_to_dev(kobj)); }

long emit_u(std::string& buf, const char* fmt, unsigned v) {
  char s[32];
  std::snprintf(s, sizeof s, fmt, v);
  buf = s;
  return static_cast<long>(buf.size());
}

long count_or(int ret, const std::string& buf) { return ret < 0 ? ret : static_cast<long>(buf.size()); }

// sriov_totalvfs_show(): pci_sriov_get_totalvfs()
const attribute dev_attr_sriov_totalvfs{"sriov_totalvfs", S_IRUGO, [](kobject* k, std::string& buf) {
                                          return emit_u(buf, "%u\n", kobj_to_pci_dev(k)->sriov->driver_max_VFs);
                                        }, nullptr};
// sriov_numvfs_show() / sriov_numvfs_store()
const attribute dev_attr_sriov_numvfs{"sriov_numvfs", S_IWUSR | S_IRUGO,
                                      [](kobject* k, std::string& buf) {
                                        return emit_u(buf, "%u\n", kobj_to_pci_dev(k)->sriov->num_VFs);
                                      },
                                      [](kobject* k, const std::string& buf) {
                                        device_ref ref(kobj_to_dev(k));  // the store sleeps
                                        return count_or(sriov_numvfs_store(*kobj_to_pci_dev(k), buf), buf);
                                      }};
// sriov_offset_show(), sriov_stride_show(), sriov_vf_device_show()
const attribute dev_attr_sriov_offset{"sriov_offset", S_IRUGO, [](kobject* k, std::string& buf) {
                                        return emit_u(buf, "%u\n", kobj_to_pci_dev(k)->sriov->offset);
                                      }, nullptr};
const attribute dev_attr_sriov_stride{"sriov_stride", S_IRUGO, [](kobject* k, std::string& buf) {
                                        return emit_u(buf, "%u\n", kobj_to_pci_dev(k)->sriov->stride);
                                      }, nullptr};
const attribute dev_attr_sriov_vf_device{"sriov_vf_device", S_IRUGO, [](kobject* k, std::string& buf) {
                                           return emit_u(buf, "%x\n", kobj_to_pci_dev(k)->sriov->vf_device);
                                         }, nullptr};
// sriov_drivers_autoprobe_show() / sriov_drivers_autoprobe_store()
const attribute dev_attr_sriov_drivers_autoprobe{
    "sriov_drivers_autoprobe", S_IWUSR | S_IRUGO,
    [](kobject* k, std::string& buf) {
      return emit_u(buf, "%u\n", kobj_to_pci_dev(k)->sriov->drivers_autoprobe ? 1u : 0u);
    },
    [](kobject* k, const std::string& buf) {
      return count_or(sriov_drivers_autoprobe_store(*kobj_to_pci_dev(k), buf), buf);
    }};

}  // namespace

// sriov_pf_dev_attr_group with sriov_pf_attrs_are_visible(): the files are a PF's only.
const attribute_group sriov_pf_dev_attr_group{
    "",
    [](kobject* k, const attribute* a, int) -> uint16_t { return kobj_to_pci_dev(k)->is_physfn ? a->mode : 0; },
    {&dev_attr_sriov_totalvfs, &dev_attr_sriov_numvfs, &dev_attr_sriov_offset, &dev_attr_sriov_stride,
     &dev_attr_sriov_vf_device, &dev_attr_sriov_drivers_autoprobe}};

}  // namespace vfiosim::kernel
