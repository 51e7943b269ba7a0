#include "vfio/vfio/pci/vfio_pci.h"

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>

namespace vfiosim::kernel {

namespace {
constexpr unsigned kOffsetShift = 40;  // VFIO_PCI_OFFSET_SHIFT
constexpr uint64_t kOffsetMask = (1ULL << kOffsetShift) - 1;
uint64_t index_to_offset(unsigned index) { return static_cast<uint64_t>(index) << kOffsetShift; }
vfio_pci_core_device& core_of(vfio_device& d) { return *reinterpret_cast<vfio_pci_core_device*>(&d); }
}  // namespace

VfioPci::VfioPci(Vfio& vfio, PciCore& pci, PciDriverCore& drivers, HostPort& cpu, InterruptController& irq)
    : vfio_(vfio), pci_(pci), drivers_(drivers), cpu_(cpu), irq_(irq) {
  ops_.name = "vfio-pci";
  ops_.release = [](vfio_device& d) { Vfio::vfio_free_device(&d); };  // vfio_pci_core_release_dev
  ops_.open_device = [this](vfio_device& d) { return open_device(core_of(d)); };
  ops_.close_device = [this](vfio_device& d) { close_device(core_of(d)); };
  ops_.ioctl = [this](vfio_device& d, unsigned cmd, uint64_t arg) { return ioctl(core_of(d), cmd, arg); };
  ops_.read = [this](vfio_device& d, uint64_t b, uint64_t n, uint64_t p) { return rw(core_of(d), b, n, p, false); };
  ops_.write = [this](vfio_device& d, uint64_t b, uint64_t n, uint64_t p) { return rw(core_of(d), b, n, p, true); };
  ops_.match = [this](vfio_device& d, const std::string& buf) { return match(core_of(d), buf); };
  ops_.mmap = [this](vfio_device& d, vm_area& vma) { return mmap(core_of(d), vma); };
  ops_.device_feature = [this](vfio_device& d, uint32_t flags, uint64_t arg, size_t argsz) {
    return device_feature(core_of(d), flags, arg, argsz);
  };
  ops_.request = [](vfio_device& d, unsigned count) {  // vfio_pci_core_request()
    auto& v = core_of(d);
    ++v.requests;
    if (v.req_trigger) {
      if (!(count % 10))
        kernel_warn("pci_notice_ratelimited", d.dev_name + ": Relaying device request to user (#" + std::to_string(count) + ")");
      eventfd_signal(v.req_trigger);
    } else if (count == 0) {
      kernel_warn("pci_notice", d.dev_name + ": No device request channel registered, blocked until released by user");
    }
  };
}

void VfioPci::register_driver() {
  auto drv = std::make_unique<pci_driver>();
  drv->name = "vfio-pci";
  drv->id_table = [](const pci_dev&) { return false; };  // binds through driver_override (or new_id)
  drv->probe = [this](pci_dev& d) { return probe(d); };
  drv->remove = [this](pci_dev& d) { remove(d); };
  // vfio_pci_sriov_configure(): only with the enable_sriov module parameter.
  drv->sriov_configure = [this](pci_dev& d, int n) {
    if (!enable_sriov_) return -ENOENT;
    vfio_pci_core_device* v = find(d);
    return v ? sriov_configure(*v, n) : -ENODEV;
  };
  drv->driver_managed_dma = true;
  drivers_.register_driver(std::move(drv));
}

vfio_pci_core_device* VfioPci::find(const pci_dev& dev) const {
  auto it = bound_.find(&dev);
  return it == bound_.end() ? nullptr : it->second;
}

// vfio_pci_probe(): refuses bridges (only normal functions), then vfio_pci_core_register_device().
int VfioPci::probe(pci_dev& dev) {
  if (dev.hdr_type & 0x7f) return -EINVAL;  // vfio_pci_is_vga / bridges are not supported
  int err = 0;
  auto* v = vfio_.vfio_alloc_device<vfio_pci_core_device>(&dev, dev.name(), &ops_, &err);
  if (!v) return err;
  v->pdev = &dev;
  // Capabilities the driver reports: FLR (reset_works), MSI and MSI-X vector counts, INTx pin.
  if (dev.pcie_cap) v->reset_works = pci_.read_config(dev, dev.pcie_cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR;
  v->msi_cap = pci_.find_capability(dev.bus->number, dev.devfn, PCI_CAP_ID_MSI);
  if (v->msi_cap) v->msi_vectors = 1u << ((pci_.read_config(dev, v->msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1);
  // vfio_pci_probe_power_state(): without No_Soft_Reset, D3hot loses the config state.
  if (dev.pm_cap) v->needs_pm_restore = !(pci_.read_config(dev, dev.pm_cap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
  if (dev.msix_cap) v->msix_vectors = (pci_.read_config(dev, dev.msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
  v->irq_pin = static_cast<uint8_t>(pci_.read_config(dev, PCI_INTERRUPT_PIN, 1));
  // vfio_pci_core_register_device(): devices that reset together share a device set — by bus
  // (no slot reset is modelled); a device on the root bus is its own set.
  if (dev.bus && dev.bus->self) vfio_.vfio_assign_device_set(&v->vdev, dev.bus);
  if (int ret = vf_init(*v)) {
    vfio_.vfio_put_device(&v->vdev);
    return ret;
  }
  if (int ret = vfio_.vfio_register_group_dev(&v->vdev)) {
    vf_uninit(*v);
    vfio_.vfio_put_device(&v->vdev);
    return ret;
  }
  bound_[&dev] = v;
  return 0;
}

// vfio_pci_remove(): unregister waits for every user of the device.
void VfioPci::remove(pci_dev& dev) {
  vfio_pci_core_device* v = find(dev);
  if (!v) return;
  sriov_configure(*v, 0);  // vfio_pci_core_unregister_device(): the VFs go first
  vfio_.vfio_unregister_group_dev(&v->vdev);
  vf_uninit(*v);
  bound_.erase(&dev);
  vfio_.vfio_put_device(&v->vdev);
}

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

// vfio_pci_core_enable(): enable, reset, save the command register.
int VfioPci::open_device(vfio_pci_core_device& v) {
  pci_dev& dev = *v.pdev;
  set_power_state(v, PCI_D0);
  if (int ret = pci_.enable_device(dev)) return ret;
  if (v.reset_works) reset(v);
  // vfio_pci_core_enable(): INTx masking in hardware if the device has it, and INTx Disable off.
  v.pci_2_3 = dev.pin && intx_mask_supported(dev);
  if (v.pci_2_3 && (pci_.read_config(dev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE)) pci_intx(dev, true);
  v.saved_command = pci_.read_config(dev, PCI_COMMAND, 2);
  pci_.write_config(dev, PCI_COMMAND, 2, v.saved_command | PCI_COMMAND_MEMORY);  // FLR cleared decode
  v.virq_disabled = false;
  v.msi_qmax = 0;
  VfioPciConfig::Hooks hooks;
  hooks.reset = [this, &v] { reset(v); };
  hooks.intx_disable = [this, &v](bool disable) { set_virq_disabled(v, disable); };
  hooks.msi_enabled = [&v] { return v.irq_type == VFIO_PCI_MSI_IRQ_INDEX; };
  hooks.msi_qmax = [&v] { return v.msi_qmax; };
  hooks.set_power_state = [this, &v](int state) { set_power_state(v, state); };  // vfio_lock_and_set_power_state()
  v.config = std::make_unique<VfioPciConfig>(pci_, dev, std::move(hooks));
  if (int ret = v.config->init()) return ret;
  if (v.sriov_pf_core_dev) ++v.sriov_pf_core_dev->vf_token->users;  // vfio_pci_vf_token_user_add(vdev, 1)
  return 0;
}

// vfio_pci_core_disable(): interrupts off, bus mastering off, reset, decode off.
void VfioPci::close_device(vfio_pci_core_device& v) {
  pci_dev& dev = *v.pdev;
  set_power_state(v, PCI_D0);  // the device may be in a low-power state
  if (v.sriov_pf_core_dev) --v.sriov_pf_core_dev->vf_token->users;  // vfio_pci_vf_token_user_add(vdev, -1)
  if (v.irq_type == VFIO_PCI_INTX_IRQ_INDEX) intx_disable(v);
  msi_disable(v);
  eventfd_ctx_put(v.req_trigger);
  v.req_trigger = nullptr;
  eventfd_ctx_put(v.err_trigger);
  v.err_trigger = nullptr;
  const uint32_t cmd = pci_.read_config(dev, PCI_COMMAND, 2);
  pci_.write_config(dev, PCI_COMMAND, 2, cmd & ~static_cast<uint32_t>(PCI_COMMAND_MASTER));
  if (v.reset_works) reset(v);
  pci_.write_config(dev, PCI_COMMAND, 2, 0);
  dev.is_busmaster = false;
  dev.is_enabled = false;
  v.pm_save.reset();
}

long VfioPci::ioctl(vfio_pci_core_device& v, unsigned cmd, uint64_t arg) {
  Task* t = current();
  pci_dev& dev = *v.pdev;
  switch (cmd) {
    case VFIO_DEVICE_GET_INFO: {
      vfio_device_info info{};
      const uint32_t minsz = offsetof(vfio_device_info, num_irqs) + sizeof(info.num_irqs);
      if (t->copy_from_user(&info, arg, minsz)) return -EFAULT;
      if (info.argsz < minsz) return -EINVAL;
      info.flags = VFIO_DEVICE_FLAGS_PCI | (v.reset_works ? VFIO_DEVICE_FLAGS_RESET : 0);
      info.num_regions = VFIO_PCI_NUM_REGIONS;
      info.num_irqs = VFIO_PCI_NUM_IRQS;
      if (info.argsz >= offsetof(vfio_device_info, cap_offset) + sizeof(info.cap_offset)) info.cap_offset = 0;
      return t->copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
    }
    case VFIO_DEVICE_GET_REGION_INFO: {
      vfio_region_info info{};
      const uint32_t minsz = offsetof(vfio_region_info, offset) + sizeof(info.offset);
      if (t->copy_from_user(&info, arg, minsz)) return -EFAULT;
      if (info.argsz < minsz) return -EINVAL;
      switch (info.index) {
        case VFIO_PCI_CONFIG_REGION_INDEX:
          info.offset = index_to_offset(info.index);
          info.size = dev.is_pcie() ? 4096 : 256;
          info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
          break;
        case VFIO_PCI_BAR0_REGION_INDEX: case VFIO_PCI_BAR1_REGION_INDEX: case VFIO_PCI_BAR2_REGION_INDEX:
        case VFIO_PCI_BAR3_REGION_INDEX: case VFIO_PCI_BAR4_REGION_INDEX: case VFIO_PCI_BAR5_REGION_INDEX:
          info.offset = index_to_offset(info.index);
          info.size = dev.res[info.index].size();
          info.flags = info.size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE : 0;
          if (bar_mmap_supported(dev, info.index)) info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
          break;
        case VFIO_PCI_ROM_REGION_INDEX:
          info.offset = index_to_offset(info.index);
          info.size = dev.res[PCI_ROM_RESOURCE].size();
          info.flags = info.size ? VFIO_REGION_INFO_FLAG_READ : 0;
          break;
        case VFIO_PCI_VGA_REGION_INDEX:
          info.offset = index_to_offset(info.index);
          info.size = 0;  // not a VGA device
          info.flags = 0;
          break;
        default:
          return -EINVAL;
      }
      // msix_mmappable_cap(): the MSI-X BAR says its table may be mmapped (interrupt remapping
      // protects the host), as a capability chained after the info.
      if ((info.flags & VFIO_REGION_INFO_FLAG_MMAP) && dev.msix_cap &&
          (pci_.read_config(dev, dev.msix_cap + PCI_MSIX_TABLE, 4) & PCI_MSIX_TABLE_BIR) == info.index) {
        const vfio_info_cap_header cap{VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, 0};
        info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
        if (info.argsz < sizeof(info) + sizeof(cap)) {
          info.argsz = sizeof(info) + sizeof(cap);
          info.cap_offset = 0;
        } else {
          if (t->copy_to_user(arg + sizeof(info), &cap, sizeof(cap))) return -EFAULT;
          info.cap_offset = sizeof(info);
        }
      }
      return t->copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
    }
    case VFIO_DEVICE_GET_IRQ_INFO: {
      vfio_irq_info info{};
      const uint32_t minsz = offsetof(vfio_irq_info, count) + sizeof(info.count);
      if (t->copy_from_user(&info, arg, minsz)) return -EFAULT;
      if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS) return -EINVAL;
      switch (info.index) {
        case VFIO_PCI_INTX_IRQ_INDEX: info.count = v.irq_pin ? 1 : 0; break;
        case VFIO_PCI_MSI_IRQ_INDEX: info.count = v.msi_vectors; break;
        case VFIO_PCI_MSIX_IRQ_INDEX: info.count = v.msix_vectors; break;
        case VFIO_PCI_ERR_IRQ_INDEX: info.count = dev.is_pcie() ? 1 : 0; break;
        case VFIO_PCI_REQ_IRQ_INDEX: info.count = 1; break;
        default: break;
      }
      info.flags = VFIO_IRQ_INFO_EVENTFD;
      if (!info.count) info.flags = 0;
      else if (info.index == VFIO_PCI_INTX_IRQ_INDEX) info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
      else info.flags |= VFIO_IRQ_INFO_NORESIZE;
      return t->copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
    }
    case VFIO_DEVICE_RESET:
      return v.reset_works ? reset(v) : -EINVAL;
    case VFIO_DEVICE_SET_IRQS:
      return set_irqs(v, arg);
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
      return get_hot_reset_info(v, arg);
    case VFIO_DEVICE_PCI_HOT_RESET:
      return hot_reset(v, arg);
    default:
      return -ENOTTY;
  }
}

int VfioPci::hot_reset_scope(vfio_pci_core_device& v, std::vector<pci_dev*>& out) {
  pci_bus* bus = v.pdev->bus;
  if (!bus || !bus->self) return -ENODEV;  // no parent bridge to reset the bus
  out.clear();
  auto walk = [&](auto&& self, pci_bus* b) -> void {
    for (pci_dev* d : b->devices) {
      out.push_back(d);
      if (d->subordinate) self(self, d->subordinate);
    }
  };
  walk(walk, bus);
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
    if (!d->iommu_group) return -EPERM;
    out.push_back({static_cast<uint32_t>(d->iommu_group->id), 0, d->bus->number, static_cast<uint8_t>(d->devfn)});
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

// The MSI-X table entry of `vector`, through the BAR the capability names.
uint64_t VfioPci::msix_entry(vfio_pci_core_device& v, unsigned vector) {
  pci_dev& dev = *v.pdev;
  const uint32_t table = pci_.read_config(dev, dev.msix_cap + PCI_MSIX_TABLE, 4);
  return dev.res[table & PCI_MSIX_TABLE_BIR].start + (table & PCI_MSIX_TABLE_OFFSET) + vector * 16ULL;
}

// request_irq(): the handler runs in its own thread and signals whatever trigger is set.
void VfioPci::spawn_handler(const std::shared_ptr<vfio_pci_core_device::IrqSlot>& s) {
  sc_core::sc_spawn(
      [this, s] {
        uint64_t seen = irq_.count(s->host_vector);
        for (;;) {
          seen = irq_.wait_for(s->host_vector, seen);
          if (s->trigger) eventfd_signal(s->trigger);
        }
      },
      sc_core::sc_gen_unique_name("vfio_msi_irq"));
}

// vfio_msi_enable(): nvec contexts. MSI: a block of 2^n consecutive host vectors programmed into
// the capability (data = block base, Multiple Message Enable = n). MSI-X: the capability enabled
// with every entry masked; vectors are set one by one.
int VfioPci::msi_enable(vfio_pci_core_device& v, unsigned nvec, bool msix) {
  pci_dev& dev = *v.pdev;
  if (!msix) {
    if (!v.msi_cap || !nvec || nvec > v.msi_vectors) return -EINVAL;
    unsigned mme = 0;
    while ((1u << mme) < nvec) ++mme;
    const uint32_t block = 1u << mme;
    next_vector_ = (next_vector_ + block - 1) & ~(block - 1);
    const uint32_t base = next_vector_;
    next_vector_ += block;
    const int flags = v.msi_cap + PCI_MSI_FLAGS;
    const uint32_t ctl = pci_.read_config(dev, flags, 2);
    const bool is64 = ctl & PCI_MSI_FLAGS_64BIT;
    pci_.write_config(dev, v.msi_cap + PCI_MSI_ADDRESS_LO, 4, 0xFEE00000u);
    if (is64) pci_.write_config(dev, v.msi_cap + PCI_MSI_ADDRESS_HI, 4, 0);
    pci_.write_config(dev, v.msi_cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, base);
    pci_.write_config(dev, flags, 2, (ctl & ~uint32_t{PCI_MSI_FLAGS_QSIZE}) | (mme << 4) | PCI_MSI_FLAGS_ENABLE);
    v.ctx.clear();
    for (unsigned i = 0; i < nvec; ++i) {
      auto slot = std::make_shared<vfio_pci_core_device::IrqSlot>();
      slot->host_vector = base + i;
      spawn_handler(slot);
      v.ctx.push_back(slot);
    }
    v.irq_type = VFIO_PCI_MSI_IRQ_INDEX;
    v.msi_qmax = mme;  // fls(nvec * 2 - 1) - 1
    return 0;
  }
  if (!dev.msix_cap || nvec > v.msix_vectors) return -EINVAL;
  const int flags = dev.msix_cap + PCI_MSIX_FLAGS;
  const uint32_t ctl = pci_.read_config(dev, flags, 2);
  pci_.write_config(dev, flags, 2, ctl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  for (unsigned i = 0; i < nvec; ++i) cpu_.write(msix_entry(v, i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
  pci_.write_config(dev, flags, 2, (ctl | PCI_MSIX_FLAGS_ENABLE) & ~uint32_t{PCI_MSIX_FLAGS_MASKALL});
  v.ctx.clear();
  for (unsigned i = 0; i < nvec; ++i) v.ctx.push_back(std::make_shared<vfio_pci_core_device::IrqSlot>());
  v.irq_type = VFIO_PCI_MSIX_IRQ_INDEX;
  return 0;
}

void VfioPci::msi_disable(vfio_pci_core_device& v) {
  if (v.irq_type != VFIO_PCI_MSIX_IRQ_INDEX && v.irq_type != VFIO_PCI_MSI_IRQ_INDEX) return;
  for (unsigned i = 0; i < v.ctx.size(); ++i) msi_set_vector_signal(v, i, -1);
  pci_dev& dev = *v.pdev;
  if (v.irq_type == VFIO_PCI_MSI_IRQ_INDEX) {
    const int flags = v.msi_cap + PCI_MSI_FLAGS;
    pci_.write_config(dev, flags, 2, pci_.read_config(dev, flags, 2) & ~uint32_t{PCI_MSI_FLAGS_ENABLE});
  } else {
    const int flags = dev.msix_cap + PCI_MSIX_FLAGS;
    pci_.write_config(dev, flags, 2, pci_.read_config(dev, flags, 2) & ~uint32_t{PCI_MSIX_FLAGS_ENABLE});
  }
  v.ctx.clear();
  v.irq_type = -1;
}

// vfio_msi_set_vector_signal(): the vector's eventfd; the interrupt handler signals it.
int VfioPci::msi_set_vector_signal(vfio_pci_core_device& v, unsigned vector, int fd) {
  auto& slot = v.ctx[vector];
  const bool msix = v.irq_type == VFIO_PCI_MSIX_IRQ_INDEX;
  if (slot->trigger) {  // free_irq(), eventfd_ctx_put()
    if (msix) cpu_.write(msix_entry(v, vector) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
    eventfd_ctx_put(slot->trigger);
    slot->trigger = nullptr;
  }
  if (fd < 0) return 0;
  int err = 0;
  eventfd_ctx* trigger = eventfd_ctx_fdget(*current(), fd, err);
  if (!trigger) return err;
  slot->trigger = trigger;
  if (!msix) return 0;  // MSI vectors were programmed at enable
  if (!slot->host_vector) {
    slot->host_vector = next_vector_++;
    spawn_handler(slot);
  }
  const uint64_t entry = msix_entry(v, vector);
  cpu_.write(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xFEE00000u);
  cpu_.write(entry + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
  cpu_.write(entry + PCI_MSIX_ENTRY_DATA, 4, slot->host_vector);
  cpu_.write(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
  return 0;
}

// vfio_pci_set_ctx_trigger_single(): REQ and ERR.
int VfioPci::set_ctx_trigger_single(eventfd_ctx*& trigger, uint32_t count, uint32_t flags, const uint8_t* data) {
  if (flags & VFIO_IRQ_SET_DATA_NONE) {
    if (count) {
      if (trigger) eventfd_signal(trigger);
    } else {
      eventfd_ctx_put(trigger);
      trigger = nullptr;
    }
    return 0;
  }
  if (flags & VFIO_IRQ_SET_DATA_BOOL) {
    if (count && data[0] && trigger) eventfd_signal(trigger);
    return 0;
  }
  int32_t fd = -1;
  std::memcpy(&fd, data, 4);
  if (fd == -1) {
    eventfd_ctx_put(trigger);
    trigger = nullptr;
    return 0;
  }
  if (fd < 0) return -EINVAL;
  int err = 0;
  eventfd_ctx* ctx = eventfd_ctx_fdget(*current(), fd, err);
  if (!ctx) return err;
  eventfd_ctx_put(trigger);
  trigger = ctx;
  return 0;
}

// VFIO_DEVICE_SET_IRQS: vfio_set_irqs_validate_and_prepare() then vfio_pci_set_irqs_ioctl().
long VfioPci::set_irqs(vfio_pci_core_device& v, uint64_t arg) {
  Task* t = current();
  vfio_irq_set hdr{};
  const uint32_t minsz = offsetof(vfio_irq_set, count) + sizeof(hdr.count);
  if (t->copy_from_user(&hdr, arg, minsz)) return -EFAULT;
  unsigned num_irqs = 0;
  switch (hdr.index) {
    case VFIO_PCI_INTX_IRQ_INDEX: num_irqs = v.irq_pin ? 1 : 0; break;
    case VFIO_PCI_MSI_IRQ_INDEX: num_irqs = v.msi_vectors; break;
    case VFIO_PCI_MSIX_IRQ_INDEX: num_irqs = v.msix_vectors; break;
    case VFIO_PCI_ERR_IRQ_INDEX: num_irqs = v.pdev->is_pcie() ? 1 : 0; break;
    case VFIO_PCI_REQ_IRQ_INDEX: num_irqs = 1; break;
    default: break;
  }
  if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS || hdr.count >= UINT32_MAX - hdr.start ||
      (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
    return -EINVAL;
  size_t size = 0;
  switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE: size = 0; break;
    case VFIO_IRQ_SET_DATA_BOOL: size = 1; break;
    case VFIO_IRQ_SET_DATA_EVENTFD: size = 4; break;
    default: return -EINVAL;
  }
  if (size && (hdr.start >= num_irqs || hdr.start + hdr.count > num_irqs)) return -EINVAL;
  if (!size && hdr.count && (hdr.start >= num_irqs || hdr.start + hdr.count > num_irqs)) return -EINVAL;
  std::vector<uint8_t> data(size * hdr.count);
  if (size) {
    if (hdr.argsz - minsz < data.size()) return -EINVAL;
    if (t->copy_from_user(data.data(), arg + minsz, data.size())) return -EFAULT;
  }
  const uint32_t action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
  if (hdr.index == VFIO_PCI_INTX_IRQ_INDEX) return set_intx_irqs(v, action, hdr.flags, hdr.start, hdr.count, data.data());
  if (action != VFIO_IRQ_SET_ACTION_TRIGGER) return -ENOTTY;  // no mask/unmask for MSI, MSI-X, ERR, REQ
  switch (hdr.index) {
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX: {  // vfio_pci_set_msi_trigger()
      const bool msix = hdr.index == VFIO_PCI_MSIX_IRQ_INDEX;
      const bool is = v.irq_type == static_cast<int>(hdr.index);
      if (is && !hdr.count && (hdr.flags & VFIO_IRQ_SET_DATA_NONE)) {
        msi_disable(v);
        return 0;
      }
      if (!is && v.irq_type != -1) return -EINVAL;
      if (hdr.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        const bool was = is;
        if (!was) {
          if (int ret = msi_enable(v, hdr.start + hdr.count, msix)) return ret;
        } else if (hdr.start + hdr.count > v.ctx.size()) {
          return -EINVAL;
        }
        for (uint32_t i = 0; i < hdr.count; ++i) {
          int32_t fd;
          std::memcpy(&fd, data.data() + i * 4, 4);
          if (int ret = msi_set_vector_signal(v, hdr.start + i, fd)) {
            for (uint32_t j = 0; j < i; ++j) msi_set_vector_signal(v, hdr.start + j, -1);
            if (!was) msi_disable(v);
            return ret;
          }
        }
        return 0;
      }
      if (!is || hdr.start + hdr.count > v.ctx.size()) return -EINVAL;
      for (uint32_t i = 0; i < hdr.count; ++i)  // DATA_NONE / DATA_BOOL: loopback triggers
        if ((hdr.flags & VFIO_IRQ_SET_DATA_NONE) || data[i])
          if (auto* trig = v.ctx[hdr.start + i]->trigger) eventfd_signal(trig);
      return 0;
    }
    case VFIO_PCI_REQ_IRQ_INDEX:
    case VFIO_PCI_ERR_IRQ_INDEX:  // vfio_pci_set_req_trigger() / vfio_pci_set_err_trigger()
      if (hdr.start != 0 || hdr.count > 1) return -EINVAL;
      if (hdr.index == VFIO_PCI_ERR_IRQ_INDEX && !v.pdev->is_pcie()) return -EINVAL;
      return set_ctx_trigger_single(hdr.index == VFIO_PCI_REQ_IRQ_INDEX ? v.req_trigger : v.err_trigger, hdr.count,
                                    hdr.flags, data.data());
    default:
      return -ENOTTY;
  }
}

// vfio_pci_rw(): the region from the offset's top bits; config space through config accesses,
// memory BARs through MMIO.
long VfioPci::rw(vfio_pci_core_device& v, uint64_t ubuf, uint64_t count, uint64_t pos, bool write) {
  Task* t = current();
  pci_dev& dev = *v.pdev;
  const unsigned index = static_cast<unsigned>(pos >> kOffsetShift);
  const uint64_t off = pos & kOffsetMask;
  uint64_t done = 0;
  auto chunk_len = [&](uint64_t at) -> unsigned {  // naturally aligned 4/2/1-byte accesses
    const uint64_t left = count - done;
    if (left >= 4 && !(at & 3)) return 4;
    if (left >= 2 && !(at & 1)) return 2;
    return 1;
  };
  if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
    const uint64_t size = dev.is_pcie() ? 4096 : 256;
    if (off >= size) return -EINVAL;
    count = std::min(count, size - off);
    while (done < count) {
      const unsigned n = chunk_len(off + done);
      uint32_t val = 0;
      if (write) {
        if (t->copy_from_user(&val, ubuf + done, n)) return -EFAULT;
        v.config->write(static_cast<unsigned>(off + done), n, val);
      } else {
        val = v.config->read(static_cast<unsigned>(off + done), n);
        if (t->copy_to_user(ubuf + done, &val, n)) return -EFAULT;
      }
      done += n;
    }
    return static_cast<long>(done);
  }
  if (index > VFIO_PCI_BAR5_REGION_INDEX) return -EINVAL;
  const resource& r = dev.res[index];
  if (!r.size() || !(r.flags & IORESOURCE_MEM) || off >= r.size()) return -EINVAL;
  if (!memory_enabled(v)) return -EIO;  // decode off
  count = std::min(count, r.size() - off);
  // The MSI-X table (and PBA) are the kernel's: reads return ones, writes are dropped.
  uint64_t x_start = 0, x_end = 0;
  if (dev.msix_cap) {
    const uint32_t table = pci_.read_config(dev, dev.msix_cap + PCI_MSIX_TABLE, 4);
    if ((table & PCI_MSIX_TABLE_BIR) == index) {
      x_start = table & PCI_MSIX_TABLE_OFFSET;
      x_end = x_start + v.msix_vectors * 16ULL;
    }
  }
  while (done < count) {
    const uint64_t left = count - done;
    const unsigned n = (left >= 8 && !((off + done) & 7)) ? 8 : chunk_len(off + done);
    uint64_t val = 0;
    const uint64_t at = off + done;
    const bool in_table = at < x_end && at + n > x_start;
    if (write) {
      if (t->copy_from_user(&val, ubuf + done, n)) return -EFAULT;
      if (!in_table) cpu_.write(r.start + at, n, val);
    } else {
      val = in_table ? ~0ULL : cpu_.read(r.start + at, n);
      if (t->copy_to_user(ubuf + done, &val, n)) return -EFAULT;
    }
    done += n;
  }
  return static_cast<long>(done);
}

}  // namespace vfiosim::kernel
