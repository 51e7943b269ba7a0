// vfio-pci INTx (drivers/vfio/pci/vfio_pci_intrs.c, v6.1): the line is requested shared on the
// device's pci_dev->irq; each interrupt is automasked — the handler sets INTx Disable if the
// device's Interrupt Status says it was this device (pci_check_and_mask_intx) — and signalled to
// the trigger eventfd; userspace unmasks with SET_IRQS UNMASK, which re-signals at once, still
// masked, when the device is still asserting (pci_check_and_unmask_intx fails).
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>

#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

namespace vfiosim::kernel {

// pci_intx_mask_supported(): INTx Disable must stick when toggled.
bool VfioPci::intx_mask_supported(pci_dev& dev) {
  const uint32_t orig = pci_.read_config(dev, PCI_COMMAND, 2);
  pci_.write_config(dev, PCI_COMMAND, 2, orig ^ PCI_COMMAND_INTX_DISABLE);
  const uint32_t now = pci_.read_config(dev, PCI_COMMAND, 2);
  pci_.write_config(dev, PCI_COMMAND, 2, orig);
  return (now ^ orig) & PCI_COMMAND_INTX_DISABLE;
}

// pci_check_and_set_intx_mask(): one dword read of Command and Status; mask only what is
// pending, unmask only what is not.
bool VfioPci::check_and_set_intx_mask(pci_dev& dev, bool mask) {
  const uint32_t dword = pci_.read_config(dev, PCI_COMMAND, 4);
  const bool pending = (dword >> 16) & PCI_STATUS_INTERRUPT;
  if (mask != pending) return false;
  const uint32_t orig = dword & 0xffff;
  const uint32_t cmd = mask ? (orig | PCI_COMMAND_INTX_DISABLE) : (orig & ~uint32_t{PCI_COMMAND_INTX_DISABLE});
  if (cmd != orig) pci_.write_config(dev, PCI_COMMAND, 2, cmd);
  return true;
}

// vfio_send_intx_eventfd()
void VfioPci::send_intx_eventfd(vfio_pci_core_device& v) {
  if (v.irq_type == VFIO_PCI_INTX_IRQ_INDEX && v.intx_trigger) eventfd_signal(v.intx_trigger);
}

// vfio_intx_handler(): IRQ_HANDLED when it was this device, which is now masked.
bool VfioPci::intx_handler(vfio_pci_core_device& v) {
  if (!v.pci_2_3 || v.intx_masked || !check_and_set_intx_mask(*v.pdev, true)) return false;
  v.intx_masked = true;
  send_intx_eventfd(v);
  return true;
}

// vfio_pci_intx_mask(): always masks, pending or not.
void VfioPci::intx_mask(vfio_pci_core_device& v) {
  if (v.irq_type != VFIO_PCI_INTX_IRQ_INDEX) {
    if (v.pci_2_3) pci_.pci_intx(*v.pdev, false);  // the physical bit follows the virtual one
  } else if (!v.intx_masked) {
    if (v.pci_2_3) pci_.pci_intx(*v.pdev, false);
    v.intx_masked = true;
  }
}

// vfio_pci_intx_unmask_handler(): 1 when an interrupt is still pending (it stays masked and the
// caller re-sends it).
int VfioPci::intx_unmask_handler(vfio_pci_core_device& v) {
  int ret = 0;
  if (v.irq_type != VFIO_PCI_INTX_IRQ_INDEX) {
    if (v.pci_2_3) pci_.pci_intx(*v.pdev, true);
  } else if (v.intx_masked && !v.virq_disabled) {
    if (v.pci_2_3 && !check_and_set_intx_mask(*v.pdev, false)) ret = 1;
    v.intx_masked = ret > 0;
  }
  return ret;
}

// vfio_pci_intx_unmask(): unmask, and re-send what is still pending.
void VfioPci::intx_unmask(vfio_pci_core_device& v) {
  if (intx_unmask_handler(v) > 0) send_intx_eventfd(v);
}

// The INTx emulation of vfio_basic_config_write(): the user's INTx Disable masks and unmasks.
void VfioPci::set_virq_disabled(vfio_pci_core_device& v, bool disabled) {
  if (disabled && !v.virq_disabled) {
    v.virq_disabled = true;
    intx_mask(v);
  } else if (!disabled && v.virq_disabled) {
    v.virq_disabled = false;
    intx_unmask(v);
  }
}

// vfio_intx_enable()
int VfioPci::intx_enable(vfio_pci_core_device& v) {
  if (v.irq_type != -1) return -EINVAL;
  if (!v.pdev->irq) return -ENODEV;
  // A virtually masked interrupt (INTx Disable in vconfig) stays masked in hardware.
  v.intx_masked = v.virq_disabled;
  if (v.pci_2_3) pci_.pci_intx(*v.pdev, !v.intx_masked);
  v.irq_type = VFIO_PCI_INTX_IRQ_INDEX;
  return 0;
}

// vfio_intx_set_signal(): free the old line and trigger; with fd >= 0 request the line again.
int VfioPci::intx_set_signal(vfio_pci_core_device& v, int fd) {
  if (v.intx_trigger) {
    irqs_.free_irq(v.pdev->irq, &v);
    eventfd_ctx_put(v.intx_trigger);
    v.intx_trigger = nullptr;
  }
  if (fd < 0) return 0;
  int err = 0;
  eventfd_ctx* trigger = eventfd_ctx_fdget(*current(), fd, err);
  if (!trigger) return err;
  v.intx_trigger = trigger;
  auto handler = [this](int, void* dev_id) {  // vfio_intx_handler()
    return intx_handler(*static_cast<vfio_pci_core_device*>(dev_id)) ? IRQ_HANDLED : IRQ_NONE;
  };
  if (int ret = irqs_.request_irq(v.pdev->irq, handler, v.pci_2_3 ? IRQF_SHARED : 0, "vfio-intx(" + v.pdev->name() + ")",
                                  &v)) {
    v.intx_trigger = nullptr;
    eventfd_ctx_put(trigger);
    return ret;
  }
  return 0;
}

// vfio_intx_disable()
void VfioPci::intx_disable(vfio_pci_core_device& v) {
  vfio_virqfd_disable(v.intx_unmask_fd);
  intx_set_signal(v, -1);
  v.irq_type = -1;
}

// vfio_pci_set_intx_mask() / _unmask() / _trigger()
int VfioPci::set_intx_irqs(vfio_pci_core_device& v, uint32_t action, uint32_t flags, uint32_t start, uint32_t count,
                           const uint8_t* data) {
  const bool is_intx = v.irq_type == VFIO_PCI_INTX_IRQ_INDEX;
  if (action == VFIO_IRQ_SET_ACTION_MASK || action == VFIO_IRQ_SET_ACTION_UNMASK) {
    const bool mask = action == VFIO_IRQ_SET_ACTION_MASK;
    if (!is_intx || start != 0 || count != 1) return -EINVAL;
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
      if (mask) return -ENOTTY;  // "XXX Need masking support exported" in the kernel too
      // vfio_pci_set_intx_unmask(): an UNMASK eventfd polled by a virqfd (KVM's resampler);
      // fd -1 stops it.
      int32_t fd;
      std::memcpy(&fd, data, 4);
      if (fd >= 0)
        return vfio_virqfd_enable(*current(), fd, [this, &v] { return intx_unmask_handler(v); },
                                  [this, &v] { send_intx_eventfd(v); }, v.intx_unmask_fd);
      vfio_virqfd_disable(v.intx_unmask_fd);
      return 0;
    }
    if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[0]) {
      if (mask) intx_mask(v);
      else intx_unmask(v);
    }
    return 0;
  }
  // TRIGGER
  if (is_intx && !count && (flags & VFIO_IRQ_SET_DATA_NONE)) {
    intx_disable(v);
    return 0;
  }
  if (!(is_intx || v.irq_type == -1) || start != 0 || count != 1) return -EINVAL;
  if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
    int32_t fd;
    std::memcpy(&fd, data, 4);
    if (is_intx) return intx_set_signal(v, fd);
    if (int ret = intx_enable(v)) return ret;
    const int ret = intx_set_signal(v, fd);
    if (ret) intx_disable(v);
    return ret;
  }
  if (!is_intx) return -EINVAL;
  if ((flags & VFIO_IRQ_SET_DATA_NONE) || data[0]) send_intx_eventfd(v);  // loop-back
  return 0;
}

}  // namespace vfiosim::kernel
