// PCI MSI and MSI-X (drivers/pci/msi/{msi,irqdomain}.c and include/linux/msi.h, v6.1, on x86):
// pci_alloc_irq_vectors() gives a device Linux irqs from the vector domain and programs its
// capability or MSI-X table the way the kernel does (masked while set up, messages written at
// early activation, INTx disabled, the whole table masked, the function unmasked); request_irq()
// then unmasks a vector and free_irq() masks it and clears its message; pci_free_irq_vectors()
// returns the device to its initial state and the vectors to the domain.
//
// Not modelled: affinity sets and managed irqs, PCI_IRQ_VIRTUAL, the msi_verify_entries() and
// no_64bit_msi checks, pcibios_alloc_irq. Multi-message MSI is granted only when interrupt
// remapping is on (the remapping domain supports MSI_FLAG_MULTI_PCI_MSI; without it x86 grants one
// vector); the vectors of such a block are consecutive on one CPU, which stands in for the
// remapping table the model does not have.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "vfio/linux/kernel/irq/irqdesc.h"

namespace vfiosim {
class HostPort;
}

namespace vfiosim::kernel {

class PciCore;
struct pci_dev;

constexpr unsigned PCI_IRQ_LEGACY = 1u << 0;
constexpr unsigned PCI_IRQ_MSI = 1u << 1;
constexpr unsigned PCI_IRQ_MSIX = 1u << 2;

struct msi_msg {
  uint32_t address_lo = 0;
  uint32_t address_hi = 0;
  uint32_t data = 0;
};

/// struct msi_desc: one MSI-X entry, or the whole MSI capability (its nvec_used irqs).
struct msi_desc {
  pci_dev* dev = nullptr;
  unsigned irq = 0;  // the first Linux irq
  unsigned nvec_used = 1;
  msi_msg msg;       // the last message written (get_cached_msi_msg)
  bool is_msix = false;
  // MSI-X
  uint16_t msi_index = 0;
  uint32_t msix_ctrl = 0;  // the entry's Vector Control as last written
  // MSI
  bool is_64 = false;
  bool can_mask = false;  // per-vector masking
  uint8_t multi_cap = 0;  // log2 of the vectors the function supports
  uint8_t multiple = 0;   // log2 of the vectors enabled
  uint8_t mask_pos = 0;
  uint32_t msi_mask = 0;  // cached Mask Bits
  unsigned default_irq = 0;  // dev->irq to restore (the INTx irq)
};

class PciMsi {
 public:
  PciMsi(PciCore& pci, HostPort& cpu, IrqCore& irqs);
  /// Whether the MSI parent domain is interrupt remapping (multi-message MSI allowed).
  void set_remapping(std::function<bool()> fn) { remapping_ = std::move(fn); }

  /// pci_alloc_irq_vectors(): MSI-X, else MSI, else the INTx irq, as `flags` allow; the number
  /// of vectors, or the kernel's error (-EINVAL enabled already or not in D0, -ERANGE, -ENOSPC).
  int pci_alloc_irq_vectors(pci_dev& dev, unsigned min_vecs, unsigned max_vecs, unsigned flags);
  /// pci_free_irq_vectors(): pci_disable_msix() and pci_disable_msi().
  void pci_free_irq_vectors(pci_dev& dev);
  /// pci_irq_vector(): the Linux irq of vector `nr`, -EINVAL when there is none.
  int pci_irq_vector(pci_dev& dev, unsigned nr);
  int pci_msix_vec_count(pci_dev& dev);
  int pci_msi_vec_count(pci_dev& dev);
  /// get_cached_msi_msg() and pci_write_msi_msg() (vfio-pci rewrites an entry before request_irq).
  void get_cached_msi_msg(unsigned irq, msi_msg& msg);
  void pci_write_msi_msg(unsigned irq, const msi_msg& msg);

 private:
  msi_desc* desc_of(unsigned irq);
  int enable_msix_range(pci_dev& dev, unsigned minvec, unsigned maxvec);
  int enable_msi_range(pci_dev& dev, unsigned minvec, unsigned maxvec);
  int msix_capability_init(pci_dev& dev, unsigned nvec);
  int msi_capability_init(pci_dev& dev, unsigned nvec);
  int setup_irqs(pci_dev& dev, unsigned nvec, bool msix);
  void free_msi_irqs(pci_dev& dev);
  void msix_clear_and_set_ctrl(pci_dev& dev, uint16_t clear, uint16_t set);
  void msi_set_enable(pci_dev& dev, bool enable);
  void intx_for_msi(pci_dev& dev, bool enable);
  uint64_t msix_entry(const msi_desc& d) const;
  void write_msg(msi_desc& d, const msi_msg& msg);
  void msix_write_vector_ctrl(msi_desc& d, uint32_t ctrl);
  void msix_mask(msi_desc& d);
  void msix_unmask(msi_desc& d);
  void msi_update_mask(msi_desc& d, uint32_t clear, uint32_t set);

  PciCore& pci_;
  HostPort& cpu_;
  IrqCore& irqs_;
  std::function<bool()> remapping_;
  irq_chip chip_;
};

}  // namespace vfiosim::kernel
