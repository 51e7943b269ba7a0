#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

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

VfioPci::VfioPci(Vfio& vfio, PciCore& pci, PciDriverCore& drivers, HostPort& cpu, IrqCore& irqs, PciMsi& msi)
    : vfio_(vfio), pci_(pci), drivers_(drivers), cpu_(cpu), irqs_(irqs), msi_(msi) {
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
        kernel_warn("pci_notice_ratelimited", dev_name(d.dev) + ": Relaying device request to user (#" + std::to_string(count) + ")");
      eventfd_signal(v.req_trigger);
    } else if (count == 0) {
      kernel_warn("pci_notice", dev_name(d.dev) + ": No device request channel registered, blocked until released by user");
    }
  };
}

void VfioPci::register_driver() {
  // vfio_pci_core_err_handlers: error_detected only (vfio_pci_core_aer_err_detected), which hands
  // the error to userspace through the ERR eventfd and lets recovery go on.
  err_handlers_.error_detected = [this](pci_dev& d, pci_channel_state_t) {
    vfio_pci_core_device* v = find(d);
    if (v && v->err_trigger) eventfd_signal(v->err_trigger);
    return PCI_ERS_RESULT_CAN_RECOVER;
  };
  auto drv = std::make_unique<pci_driver>();
  drv->err_handler = &err_handlers_;
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
  auto* v = vfio_.vfio_alloc_device<vfio_pci_core_device>(&dev.dev, &ops_, &err);
  if (!v) return err;
  v->pdev = &dev;
  // Capabilities the driver reports: FLR (reset_works), MSI and MSI-X vector counts, INTx pin.
  if (dev.pcie_cap) v->reset_works = pci_.read_config(dev, dev.pcie_cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR;
  v->msi_cap = dev.msi_cap;
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

// vfio_pci_core_enable(): enable, reset, save the command register.
int VfioPci::open_device(vfio_pci_core_device& v) {
  pci_dev& dev = *v.pdev;
  set_power_state(v, PCI_D0);
  if (int ret = pci_.enable_device(dev)) return ret;
  if (v.reset_works) reset(v);
  // vfio_pci_core_enable(): INTx masking in hardware if the device has it, and INTx Disable off.
  v.pci_2_3 = dev.pin && intx_mask_supported(dev);
  if (v.pci_2_3 && (pci_.read_config(dev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE)) pci_.pci_intx(dev, true);
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
        case VFIO_PCI_ROM_REGION_INDEX: {
          // The BAR's size, not the ROM's, and only if a valid image is really there; memory
          // decode is on for the look (vfio_pci_memory_lock_and_enable).
          info.offset = index_to_offset(info.index);
          info.flags = 0;
          info.size = dev.res[PCI_ROM_RESOURCE].size();
          if (!info.size) break;
          const uint32_t cmd = pci_.read_config(dev, PCI_COMMAND, 2);
          if (!(cmd & PCI_COMMAND_MEMORY)) pci_.write_config(dev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
          size_t rom_size = 0;
          if (const uint64_t rom = pci_.pci_map_rom(dev, &rom_size)) {
            info.flags = VFIO_REGION_INFO_FLAG_READ;
            pci_.pci_unmap_rom(dev, rom);
          } else {
            info.size = 0;
          }
          if (!(cmd & PCI_COMMAND_MEMORY)) pci_.write_config(dev, PCI_COMMAND, 2, cmd);
          break;
        }
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
  if (index == VFIO_PCI_ROM_REGION_INDEX && write) return -EINVAL;
  if (index > VFIO_PCI_ROM_REGION_INDEX) return -EINVAL;
  // vfio_pci_bar_rw()
  const resource& r = dev.res[index];
  if (!r.size() || !(r.flags & IORESOURCE_MEM) || off >= r.size()) return -EINVAL;
  if (!memory_enabled(v)) return -EIO;  // decode off
  count = std::min(count, r.size() - off);
  // Excluded from the access: the MSI-X table (and PBA), which are the kernel's, and a ROM past its
  // true size. Reads there return ones, writes are dropped.
  uint64_t x_start = 0, x_end = 0;
  uint64_t start = r.start;
  if (index == VFIO_PCI_ROM_REGION_INDEX) {
    size_t rom_size = 0;
    start = pci_.pci_map_rom(dev, &rom_size);
    if (!start) return -ENOMEM;
    x_start = rom_size;
    x_end = r.size();
  } else if (dev.msix_cap) {
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
      if (!in_table) cpu_.write(start + at, n, val);
    } else {
      val = in_table ? ~0ULL : cpu_.read(start + at, n);
      if (t->copy_to_user(ubuf + done, &val, n)) {
        if (index == VFIO_PCI_ROM_REGION_INDEX) pci_.pci_unmap_rom(dev, start);
        return -EFAULT;
      }
    }
    done += n;
  }
  if (index == VFIO_PCI_ROM_REGION_INDEX) pci_.pci_unmap_rom(dev, start);
  return static_cast<long>(done);
}

}  // namespace vfiosim::kernel
