// vfio-pci interrupts (vfio_pci_intrs.c, v6.1): MSI and MSI-X enable/disable with a handler
// thread per host vector, per-vector eventfds, REQ and ERR triggers, and VFIO_DEVICE_SET_IRQS
// validation and dispatch (INTx is in vfio_pci_intx.cpp).
#include "vfio/vfio/pci/vfio_pci.h"

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>

namespace vfiosim::kernel {

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

}  // namespace vfiosim::kernel
