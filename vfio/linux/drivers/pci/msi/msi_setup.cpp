// Enabling and disabling MSI and MSI-X (drivers/pci/msi/msi.c, v6.1): pci_alloc_irq_vectors(),
// msi_capability_init(), msix_capability_init(), pci_free_irq_vectors() and their shut-downs.
#include <linux/pci_regs.h>

#include <algorithm>
#include <cerrno>

#include "models/cpu/host_port.h"
#include "vfio/linux/drivers/pci/msi/msi.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

// msi_multi_mask(): the mask bits of the vectors enabled.
static uint32_t msi_multi_mask(const msi_desc& d) {
  return d.multiple >= 5 ? ~0u : (1u << (1u << d.multiple)) - 1;
}

// pci_alloc_irq_vectors_affinity() without an affinity descriptor.
int PciMsi::pci_alloc_irq_vectors(pci_dev& dev, unsigned min_vecs, unsigned max_vecs, unsigned flags) {
  int nvecs = -ENOSPC;
  if (flags & PCI_IRQ_MSIX) {
    nvecs = enable_msix_range(dev, min_vecs, max_vecs);
    if (nvecs > 0) return nvecs;
  }
  if (flags & PCI_IRQ_MSI) {
    nvecs = enable_msi_range(dev, min_vecs, max_vecs);
    if (nvecs > 0) return nvecs;
  }
  if ((flags & PCI_IRQ_LEGACY) && min_vecs == 1 && dev.irq) {
    pci_.pci_intx(dev, true);
    return 1;
  }
  return nvecs;
}

// __pci_enable_msix_range() and __pci_enable_msix(): fewer entries than asked are retried while
// they still meet the minimum.
int PciMsi::enable_msix_range(pci_dev& dev, unsigned minvec, unsigned maxvec) {
  if (maxvec < minvec) return -ERANGE;
  if (dev.msix_enabled) return -EINVAL;  // WARN_ON_ONCE
  unsigned nvec = maxvec;
  for (;;) {
    if (nvec < 1 || dev.current_state != PCI_D0) return -EINVAL;  // pci_msi_supported()
    const int nr_entries = pci_msix_vec_count(dev);
    if (nr_entries < 0) return nr_entries;
    int rc = 0;
    if (nvec > static_cast<unsigned>(nr_entries)) rc = nr_entries;
    else if (dev.msi_enabled) return -EINVAL;  // "can't enable MSI-X (MSI IRQ already assigned)"
    else rc = msix_capability_init(dev, nvec);
    if (rc == 0) return static_cast<int>(nvec);
    if (rc < 0) return rc;
    if (static_cast<unsigned>(rc) < minvec) return -ENOSPC;
    nvec = static_cast<unsigned>(rc);
  }
}

// __pci_enable_msi_range()
int PciMsi::enable_msi_range(pci_dev& dev, unsigned minvec, unsigned maxvec) {
  if (minvec < 1 || dev.current_state != PCI_D0) return -EINVAL;
  if (dev.msix_enabled) return -EINVAL;  // "can't enable MSI (MSI-X already enabled)"
  if (maxvec < minvec) return -ERANGE;
  if (dev.msi_enabled) return -EINVAL;  // WARN_ON_ONCE
  int count = pci_msi_vec_count(dev);
  if (count < 0) return count;
  if (static_cast<unsigned>(count) < minvec) return -ENOSPC;
  unsigned nvec = std::min(static_cast<unsigned>(count), maxvec);
  for (;;) {
    const int rc = msi_capability_init(dev, nvec);
    if (rc == 0) return static_cast<int>(nvec);
    if (rc < 0) return rc;
    if (static_cast<unsigned>(rc) < minvec) return -ENOSPC;
    nvec = static_cast<unsigned>(rc);
  }
}

// msi_domain_alloc_irqs(): irqs for the descriptors, each bound to the PCI-MSI chip and activated
// at once (MSI_FLAG_ACTIVATE_EARLY), which writes its message.
int PciMsi::setup_irqs(pci_dev& dev, unsigned nvec, bool msix) {
  const int first = irqs_.irq_alloc_vectors(nvec, !msix);
  if (first < 0) return first;
  for (unsigned i = 0; i < nvec; ++i) {
    msi_desc& d = msix ? *dev.msi_descs[i] : *dev.msi_descs.front();
    if (msix || i == 0) d.irq = static_cast<unsigned>(first) + i;
    irqs_.irq_set_chip_and_data(static_cast<unsigned>(first) + i, &chip_, &d);
  }
  for (unsigned i = 0; i < nvec; ++i) irqs_.irq_domain_activate_irq(static_cast<unsigned>(first) + i);
  return 0;
}

// msi_capability_init(): one descriptor for the capability, every vector masked, the messages
// written, INTx off, MSI on; dev->irq becomes the first MSI irq.
int PciMsi::msi_capability_init(pci_dev& dev, unsigned nvec) {
  const bool remap = remapping_ && remapping_();
  if (nvec > 1 && !remap) return 1;  // x86 without remapping: no MSI_FLAG_MULTI_PCI_MSI
  msi_set_enable(dev, false);
  // msi_setup_msi_desc()
  const uint32_t ctl = pci_.read_config(dev, dev.msi_cap + PCI_MSI_FLAGS, 2);
  auto d = std::make_shared<msi_desc>();
  d->dev = &dev;
  d->nvec_used = nvec;
  d->is_64 = ctl & PCI_MSI_FLAGS_64BIT;
  d->can_mask = ctl & PCI_MSI_FLAGS_MASKBIT;
  d->multi_cap = static_cast<uint8_t>((ctl & PCI_MSI_FLAGS_QMASK) >> 1);
  while ((1u << d->multiple) < nvec) ++d->multiple;
  d->default_irq = dev.irq;
  d->mask_pos = static_cast<uint8_t>(dev.msi_cap + (d->is_64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32));
  if (d->can_mask) d->msi_mask = pci_.read_config(dev, d->mask_pos, 4);
  dev.msi_descs.push_back(d);
  const uint32_t all = msi_multi_mask(*d);
  msi_update_mask(*d, 0, all);
  if (int ret = setup_irqs(dev, nvec, false)) {
    msi_update_mask(*d, all, 0);
    dev.msi_descs.clear();
    return ret;
  }
  intx_for_msi(dev, false);
  msi_set_enable(dev, true);
  dev.msi_enabled = true;
  dev.irq = d->irq;
  return 0;
}

// msix_capability_init(): the function enabled but masked, the table mapped, a descriptor per
// entry, messages written, INTx off, every entry of the table masked, the function unmasked.
int PciMsi::msix_capability_init(pci_dev& dev, unsigned nvec) {
  msix_clear_and_set_ctrl(dev, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
  dev.msix_enabled = true;
  const uint32_t control = pci_.read_config(dev, dev.msix_cap + PCI_MSIX_FLAGS, 2);
  const unsigned tsize = (control & PCI_MSIX_FLAGS_QSIZE) + 1;
  // msix_map_region(): the table's BAR and offset.
  const uint32_t table = pci_.read_config(dev, dev.msix_cap + PCI_MSIX_TABLE, 4);
  const unsigned bir = table & PCI_MSIX_TABLE_BIR;
  if (bir >= PCI_ROM_RESOURCE || !dev.res[bir].start) {
    msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE, 0);  // out_disable
    dev.msix_enabled = false;
    return -ENOMEM;
  }
  dev.msix_base = dev.res[bir].start + (table & PCI_MSIX_TABLE_OFFSET);
  for (unsigned i = 0; i < nvec; ++i) {  // msix_setup_msi_descs()
    auto d = std::make_shared<msi_desc>();
    d->dev = &dev;
    d->is_msix = true;
    d->msi_index = static_cast<uint16_t>(i);
    d->default_irq = dev.irq;
    d->msix_ctrl = static_cast<uint32_t>(cpu_.read(msix_entry(*d) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4));
    dev.msi_descs.push_back(d);
  }
  if (int ret = setup_irqs(dev, nvec, true)) {
    dev.msi_descs.clear();
    msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE, 0);  // out_disable
    dev.msix_enabled = false;
    return ret;
  }
  intx_for_msi(dev, false);
  for (unsigned i = 0; i < tsize; ++i)  // msix_mask_all()
    cpu_.write(dev.msix_base + i * uint64_t{PCI_MSIX_ENTRY_SIZE} + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
  msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL, 0);
  return 0;
}

// pci_free_irq_vectors() -> pci_disable_msix() / pci_disable_msi().
void PciMsi::pci_free_irq_vectors(pci_dev& dev) {
  if (dev.msix_enabled) {  // pci_msix_shutdown(): every entry masked as at reset
    for (const auto& d : dev.msi_descs) msix_mask(*d);
    msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
    intx_for_msi(dev, true);
    dev.msix_enabled = false;
    free_msi_irqs(dev);
  } else if (dev.msi_enabled) {  // pci_msi_shutdown(): unmasked as at reset, dev->irq back to INTx
    msi_set_enable(dev, false);
    intx_for_msi(dev, true);
    dev.msi_enabled = false;
    msi_desc& d = *dev.msi_descs.front();
    msi_update_mask(d, msi_multi_mask(d), 0);
    dev.irq = d.default_irq;
    free_msi_irqs(dev);
  }
}

// pci_free_msi_irqs() -> msi_domain_free_irqs_all(): still-active irqs are deactivated (their
// messages cleared), then the irqs and vectors go back.
void PciMsi::free_msi_irqs(pci_dev& dev) {
  for (const auto& d : dev.msi_descs) {
    if (!d->irq) continue;
    for (unsigned i = 0; i < d->nvec_used; ++i) irqs_.irq_domain_deactivate_irq(d->irq + i);
    irqs_.irq_free_descs(d->irq, d->nvec_used);
  }
  dev.msi_descs.clear();
  dev.msix_base = 0;
}

}  // namespace vfiosim::kernel
