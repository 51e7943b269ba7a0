// vfio-pci resets (vfio_pci_core.c, v6.1): the function reset (pci_try_reset_function with
// pci_save_state/pci_restore_state around PCIe FLR), and the hot reset of a bus:
// GET_PCI_HOT_RESET_INFO and PCI_HOT_RESET with the device-set and group-ownership rules.
#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace vfiosim::kernel {

int VfioPci::reset(vfio_pci_core_device& v) {
  if (!v.reset_works) return -EINVAL;
  pci_dev& dev = *v.pdev;
  // pci_try_reset_function(): pci_save_state(), pcie_flr() (initiate, wait 100 ms), then
  // pci_restore_state() puts the header (BARs, command), the PCIe device control and the MSI-X
  // control back.
  const pci_saved_state saved = save_state(dev);
  const uint32_t ctl = pci_.read_config(dev, dev.pcie_cap + PCI_EXP_DEVCTL, 2);
  pci_.write_config(dev, dev.pcie_cap + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
  sc_core::wait(100, sc_core::SC_MS);
  restore_state(dev, saved);
  return 0;
}

// pci_save_state(): the header, PCI Express Device Control and MSI-X Message Control.
pci_saved_state VfioPci::save_state(pci_dev& dev) {
  pci_saved_state s;
  for (int i = 0; i < 16; ++i) s.header[i] = pci_.read_config(dev, i * 4, 4);
  if (dev.pcie_cap) s.devctl = pci_.read_config(dev, dev.pcie_cap + PCI_EXP_DEVCTL, 2);
  if (dev.msix_cap) s.msix = pci_.read_config(dev, dev.msix_cap + PCI_MSIX_FLAGS, 2);
  return s;
}

// pci_restore_state(): backwards through the header, IDs and class left alone (read-only).
void VfioPci::restore_state(pci_dev& dev, const pci_saved_state& s) {
  if (dev.pcie_cap) pci_.write_config(dev, dev.pcie_cap + PCI_EXP_DEVCTL, 2, s.devctl & ~uint32_t{PCI_EXP_DEVCTL_BCR_FLR});
  for (int i = 15; i >= 0; --i)
    if (i != 0 && i != 2) pci_.write_config(dev, i * 4, 4, s.header[i]);
  if (dev.msix_cap) pci_.write_config(dev, dev.msix_cap + PCI_MSIX_FLAGS, 2, s.msix);
}

int VfioPci::hot_reset_scope(vfio_pci_core_device& v, std::vector<pci_dev*>& out) {
  pci_bus* bus = v.pdev->bus;
  if (!bus || !bus->self) return -ENODEV;  // no parent bridge to reset the bus
  out.clear();
  pci_walk_bus(bus, [&](pci_dev& d) { out.push_back(&d); });
  return 0;
}

// vfio_pci_ioctl_get_pci_hot_reset_info()
long VfioPci::get_hot_reset_info(vfio_pci_core_device& v, uint64_t arg) {
  Task* t = current();
  vfio_pci_hot_reset_info hdr{};
  const uint32_t minsz = offsetof(vfio_pci_hot_reset_info, count) + sizeof(hdr.count);
  if (t->copy_from_user(&hdr, arg, minsz)) return -EFAULT;
  if (hdr.argsz < minsz) return -EINVAL;
  hdr.flags = 0;
  std::vector<pci_dev*> devs;
  if (int ret = hot_reset_scope(v, devs)) return ret;
  const uint32_t needed = static_cast<uint32_t>(devs.size());
  if (hdr.argsz < minsz + needed * sizeof(vfio_pci_dependent_device)) {
    hdr.count = needed;
    if (t->copy_to_user(arg, &hdr, minsz)) return -EFAULT;
    return -ENOSPC;
  }
  std::vector<vfio_pci_dependent_device> out;
  for (pci_dev* d : devs) {
    if (!d->dev.iommu_group) return -EPERM;
    out.push_back({static_cast<uint32_t>(d->dev.iommu_group->id), 0, d->bus->number, static_cast<uint8_t>(d->devfn)});
  }
  hdr.count = needed;
  if (t->copy_to_user(arg, &hdr, minsz)) return -EFAULT;
  if (t->copy_to_user(arg + minsz, out.data(), out.size() * sizeof(out[0]))) return -EFAULT;
  return 0;
}

// vfio_pci_ioctl_pci_hot_reset() -> vfio_pci_dev_set_hot_reset()
long VfioPci::hot_reset(vfio_pci_core_device& v, uint64_t arg) {
  Task* t = current();
  vfio_pci_hot_reset hdr{};
  const uint32_t minsz = offsetof(vfio_pci_hot_reset, count) + sizeof(hdr.count);
  if (t->copy_from_user(&hdr, arg, minsz)) return -EFAULT;
  if (hdr.argsz < minsz || hdr.flags) return -EINVAL;
  std::vector<pci_dev*> devs;
  if (int ret = hot_reset_scope(v, devs)) return ret;
  if (!hdr.count || hdr.count > devs.size()) return -EINVAL;
  std::vector<int32_t> fds(hdr.count);
  if (t->copy_from_user(fds.data(), arg + minsz, fds.size() * 4)) return -EFAULT;
  std::set<vfio_group*> groups;
  for (int32_t fd : fds) {
    file* f = t->fget(fd);
    if (!f) return -EBADF;
    vfio_group* g = vfio_.vfio_file_group(f);
    fput(f);
    if (!g) return -EINVAL;  // not a VFIO group file
    groups.insert(g);
  }
  // Every affected device must be a vfio-pci device of this device set, in one of the groups.
  for (pci_dev* d : devs) {
    vfio_pci_core_device* other = find(*d);
    if (d->hdr_type & 0x7f) continue;  // bridges below are reset and restored by the PCI core
    if (!other || other->vdev.dev_set != v.vdev.dev_set || !groups.count(other->vdev.group)) return -EINVAL;
  }
  // pci_reset_bus(): save every function below, pulse Secondary Bus Reset, restore.
  std::vector<std::pair<pci_dev*, pci_saved_state>> saved;
  for (pci_dev* d : devs) saved.push_back({d, save_state(*d)});
  pci_dev& bridge = *v.pdev->bus->self;
  const uint32_t ctl = pci_.read_config(bridge, PCI_BRIDGE_CONTROL, 2);
  pci_.write_config(bridge, PCI_BRIDGE_CONTROL, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET);
  sc_core::wait(2, sc_core::SC_MS);
  pci_.write_config(bridge, PCI_BRIDGE_CONTROL, 2, ctl & ~static_cast<uint32_t>(PCI_BRIDGE_CTL_BUS_RESET));
  sc_core::wait(100, sc_core::SC_MS);  // devices come back
  for (auto& [d, state] : saved) restore_state(*d, state);
  return 0;
}

}  // namespace vfiosim::kernel
