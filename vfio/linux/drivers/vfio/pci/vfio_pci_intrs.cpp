// vfio-pci interrupts (vfio_pci_intrs.c, v6.1): MSI and MSI-X enable/disable with a handler
// handler per vector on the kernel's irq layer, per-vector eventfds, REQ and ERR triggers, and VFIO_DEVICE_SET_IRQS
// validation and dispatch (INTx is in vfio_pci_intx.cpp).
#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>

namespace vfiosim::kernel {

// vfio_msihandler(): the vector's eventfd (the action's dev_id).
static irqreturn_t vfio_msihandler(int, void* arg) {
  eventfd_signal(static_cast<eventfd_ctx*>(arg));
  return IRQ_HANDLED;
}

// vfio_msi_enable(): nvec contexts and as many vectors from pci_alloc_irq_vectors(); when the
// device grants fewer, their number goes back to the user (a positive return, as in v6.1).
int VfioPci::msi_enable(vfio_pci_core_device& v, unsigned nvec, bool msix) {
  if (v.irq_type != -1) return -EINVAL;  // is_irq_none()
  pci_dev& dev = *v.pdev;
  v.ctx.assign(nvec, {});
  const int ret = msi_.pci_alloc_irq_vectors(dev, 1, nvec, msix ? PCI_IRQ_MSIX : PCI_IRQ_MSI);
  if (ret < static_cast<int>(nvec)) {
    if (ret > 0) msi_.pci_free_irq_vectors(dev);
    v.ctx.clear();
    return ret;
  }
  v.irq_type = msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
  if (!msix) {  // fls(nvec * 2 - 1) - 1: the virtual Multiple Message Capable
    unsigned q = 0;
    while ((1u << (q + 1)) <= nvec * 2 - 1) ++q;
    v.msi_qmax = q;
  }
  return 0;
}

// vfio_msi_disable(): every trigger released, the vectors freed.
void VfioPci::msi_disable(vfio_pci_core_device& v) {
  if (v.irq_type != VFIO_PCI_MSIX_IRQ_INDEX && v.irq_type != VFIO_PCI_MSI_IRQ_INDEX) return;
  for (unsigned i = 0; i < v.ctx.size(); ++i) msi_set_vector_signal(v, i, -1);
  msi_.pci_free_irq_vectors(*v.pdev);
  v.ctx.clear();
  v.irq_type = -1;
}

// vfio_msi_set_vector_signal(): free_irq() of the old trigger, then for a new one the cached
// MSI-X message rewritten (a reset may have cleared the table) and request_irq().
int VfioPci::msi_set_vector_signal(vfio_pci_core_device& v, unsigned vector, int fd) {
  if (vector >= v.ctx.size()) return -EINVAL;
  pci_dev& dev = *v.pdev;
  const bool msix = v.irq_type == VFIO_PCI_MSIX_IRQ_INDEX;
  const int irq = msi_.pci_irq_vector(dev, vector);
  auto& ctx = v.ctx[vector];
  if (ctx.trigger) {
    irqs_.free_irq(static_cast<unsigned>(irq), ctx.trigger);
    ctx.name.clear();
    eventfd_ctx_put(ctx.trigger);
    ctx.trigger = nullptr;
  }
  if (fd < 0) return 0;
  int err = 0;
  eventfd_ctx* trigger = eventfd_ctx_fdget(*current(), fd, err);
  if (!trigger) return err;
  if (msix) {
    msi_msg msg;
    msi_.get_cached_msi_msg(static_cast<unsigned>(irq), msg);
    msi_.pci_write_msi_msg(static_cast<unsigned>(irq), msg);
  }
  std::string name = std::string("vfio-msi") + (msix ? "x" : "") + "[" + std::to_string(vector) + "](" + dev.name() + ")";
  if (int ret = irqs_.request_irq(static_cast<unsigned>(irq), vfio_msihandler, 0, name, trigger)) {
    eventfd_ctx_put(trigger);
    return ret;
  }
  ctx.name = std::move(name);
  ctx.trigger = trigger;
  return 0;
}

// vfio_msi_set_block(): on a failure the vectors set so far, and the failed one, are released
// again, last first.
int VfioPci::msi_set_block(vfio_pci_core_device& v, unsigned start, unsigned count, const uint8_t* fds) {
  if (start >= v.ctx.size() || start + count > v.ctx.size()) return -EINVAL;
  int ret = 0;
  unsigned j = start;
  for (unsigned i = 0; i < count && !ret; ++i, ++j) {
    int32_t fd = -1;
    if (fds) std::memcpy(&fd, fds + i * 4, 4);
    ret = msi_set_vector_signal(v, j, fd);
  }
  if (ret)
    for (int k = static_cast<int>(j) - 1; k >= static_cast<int>(start); --k) msi_set_vector_signal(v, static_cast<unsigned>(k), -1);
  return ret;
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
        if (is) return msi_set_block(v, hdr.start, hdr.count, data.data());
        if (int ret = msi_enable(v, hdr.start + hdr.count, msix)) return ret;
        const int ret = msi_set_block(v, hdr.start, hdr.count, data.data());
        if (ret) msi_disable(v);
        return ret;
      }
      if (!is || hdr.start + hdr.count > v.ctx.size()) return -EINVAL;
      for (uint32_t i = 0; i < hdr.count; ++i)  // DATA_NONE / DATA_BOOL: loopback triggers
        if ((hdr.flags & VFIO_IRQ_SET_DATA_NONE) || data[i])
          if (auto* trig = v.ctx[hdr.start + i].trigger) eventfd_signal(trig);
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
