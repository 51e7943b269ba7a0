#include "vfio/linux/drivers/pci/msi/msi.h"

#include <linux/pci_regs.h>

#include <cerrno>

#include "models/cpu/host_port.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

PciMsi::PciMsi(PciCore& pci, HostPort& cpu, IrqCore& irqs) : pci_(pci), cpu_(cpu), irqs_(irqs) {
  // The PCI-MSI irq chip over the x86 vector domain: activation writes the composed message,
  // deactivation a cleared one (msi_domain_activate/deactivate); masking per entry or bit.
  chip_.name = "PCI-MSI";
  chip_.irq_activate = [this](irq_desc& d) {
    auto& desc = *static_cast<msi_desc*>(d.chip_data);
    if (desc.irq != d.irq) return;  // pci_msi_domain_write_msg(): a multi-MSI block has one message
    uint64_t address = 0;
    msi_msg msg;
    irqs_.compose_msi_msg(d.irq, address, msg.data);
    msg.address_lo = static_cast<uint32_t>(address);
    msg.address_hi = static_cast<uint32_t>(address >> 32);
    write_msg(desc, msg);
  };
  chip_.irq_deactivate = [this](irq_desc& d) {
    auto& desc = *static_cast<msi_desc*>(d.chip_data);
    if (desc.irq == d.irq) write_msg(desc, msi_msg{});
  };
  chip_.irq_mask = [this](irq_desc& d) {  // pci_msi_mask_irq()
    auto& desc = *static_cast<msi_desc*>(d.chip_data);
    if (desc.is_msix) msix_mask(desc);
    else msi_update_mask(desc, 0, 1u << (d.irq - desc.irq));
  };
  chip_.irq_unmask = [this](irq_desc& d) {  // pci_msi_unmask_irq()
    auto& desc = *static_cast<msi_desc*>(d.chip_data);
    if (desc.is_msix) msix_unmask(desc);
    else msi_update_mask(desc, 1u << (d.irq - desc.irq), 0);
  };
}

msi_desc* PciMsi::desc_of(unsigned irq) {
  irq_desc* d = irqs_.irq_to_desc(irq);
  return d && d->chip == &chip_ ? static_cast<msi_desc*>(d->chip_data) : nullptr;
}

// ---- config and table accessors (pci_msix_clear_and_set_ctrl, pci_msi_set_enable, ...) ----

void PciMsi::msix_clear_and_set_ctrl(pci_dev& dev, uint16_t clear, uint16_t set) {
  const int pos = dev.msix_cap + PCI_MSIX_FLAGS;
  const uint32_t ctrl = (pci_.read_config(dev, pos, 2) & ~uint32_t{clear}) | set;
  pci_.write_config(dev, pos, 2, ctrl);
}

void PciMsi::msi_set_enable(pci_dev& dev, bool enable) {
  const int pos = dev.msi_cap + PCI_MSI_FLAGS;
  uint32_t ctrl = pci_.read_config(dev, pos, 2) & ~uint32_t{PCI_MSI_FLAGS_ENABLE};
  if (enable) ctrl |= PCI_MSI_FLAGS_ENABLE;
  pci_.write_config(dev, pos, 2, ctrl);
}

// pci_intx_for_msi(): no PCI_DEV_FLAGS_MSI_INTX_DISABLE_BUG quirk here.
void PciMsi::intx_for_msi(pci_dev& dev, bool enable) { pci_.pci_intx(dev, enable); }

uint64_t PciMsi::msix_entry(const msi_desc& d) const { return d.dev->msix_base + d.msi_index * uint64_t{PCI_MSIX_ENTRY_SIZE}; }

void PciMsi::msix_write_vector_ctrl(msi_desc& d, uint32_t ctrl) {
  cpu_.write(msix_entry(d) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, ctrl);
}

// pci_msix_mask(): the write is flushed with a read.
void PciMsi::msix_mask(msi_desc& d) {
  d.msix_ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
  msix_write_vector_ctrl(d, d.msix_ctrl);
  cpu_.read(msix_entry(d), 4);
}

void PciMsi::msix_unmask(msi_desc& d) {
  d.msix_ctrl &= ~uint32_t{PCI_MSIX_ENTRY_CTRL_MASKBIT};
  msix_write_vector_ctrl(d, d.msix_ctrl);
}

// pci_msi_update_mask(): only with per-vector masking.
void PciMsi::msi_update_mask(msi_desc& d, uint32_t clear, uint32_t set) {
  if (!d.can_mask) return;
  d.msi_mask = (d.msi_mask & ~clear) | set;
  pci_.write_config(*d.dev, d.mask_pos, 4, d.msi_mask);
}

// __pci_write_msi_msg(): nothing touches a function out of D0; an unmasked MSI-X entry is masked
// while its message changes; the writes are flushed with a read.
void PciMsi::write_msg(msi_desc& d, const msi_msg& msg) {
  pci_dev& dev = *d.dev;
  if (dev.current_state == PCI_D0) {
    if (d.is_msix) {
      const uint64_t base = msix_entry(d);
      const bool unmasked = !(d.msix_ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
      if (unmasked) msix_write_vector_ctrl(d, d.msix_ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
      cpu_.write(base + PCI_MSIX_ENTRY_LOWER_ADDR, 4, msg.address_lo);
      cpu_.write(base + PCI_MSIX_ENTRY_UPPER_ADDR, 4, msg.address_hi);
      cpu_.write(base + PCI_MSIX_ENTRY_DATA, 4, msg.data);
      if (unmasked) msix_write_vector_ctrl(d, d.msix_ctrl);
      cpu_.read(base + PCI_MSIX_ENTRY_DATA, 4);
    } else {
      const int pos = dev.msi_cap;
      uint32_t ctl = pci_.read_config(dev, pos + PCI_MSI_FLAGS, 2) & ~uint32_t{PCI_MSI_FLAGS_QSIZE};
      ctl |= uint32_t{d.multiple} << 4;
      pci_.write_config(dev, pos + PCI_MSI_FLAGS, 2, ctl);
      pci_.write_config(dev, pos + PCI_MSI_ADDRESS_LO, 4, msg.address_lo);
      if (d.is_64) {
        pci_.write_config(dev, pos + PCI_MSI_ADDRESS_HI, 4, msg.address_hi);
        pci_.write_config(dev, pos + PCI_MSI_DATA_64, 2, msg.data);
      } else {
        pci_.write_config(dev, pos + PCI_MSI_DATA_32, 2, msg.data);
      }
      pci_.read_config(dev, pos + PCI_MSI_FLAGS, 2);
    }
  }
  d.msg = msg;
}

void PciMsi::get_cached_msi_msg(unsigned irq, msi_msg& msg) {
  if (msi_desc* d = desc_of(irq)) msg = d->msg;
}

void PciMsi::pci_write_msi_msg(unsigned irq, const msi_msg& msg) {
  if (msi_desc* d = desc_of(irq)) write_msg(*d, msg);
}

// ---- counts and lookups ----

int PciMsi::pci_msix_vec_count(pci_dev& dev) {
  if (!dev.msix_cap) return -EINVAL;
  return static_cast<int>((pci_.read_config(dev, dev.msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1);
}

int PciMsi::pci_msi_vec_count(pci_dev& dev) {
  if (!dev.msi_cap) return -EINVAL;
  const uint32_t ctl = pci_.read_config(dev, dev.msi_cap + PCI_MSI_FLAGS, 2);
  return 1 << ((ctl & PCI_MSI_FLAGS_QMASK) >> 1);
}

// pci_irq_vector() -> msi_get_virq(): the MSI-X entry's irq, or the MSI block's nr-th; the INTx
// irq for vector 0 when neither is enabled.
int PciMsi::pci_irq_vector(pci_dev& dev, unsigned nr) {
  if (dev.msix_enabled) {
    for (const auto& d : dev.msi_descs)
      if (d->msi_index == nr) return static_cast<int>(d->irq);
    return -EINVAL;
  }
  if (dev.msi_enabled) {
    const msi_desc& d = *dev.msi_descs.front();
    return nr < d.nvec_used ? static_cast<int>(d.irq + nr) : -EINVAL;
  }
  return nr == 0 && dev.irq ? static_cast<int>(dev.irq) : -EINVAL;
}

}  // namespace vfiosim::kernel
