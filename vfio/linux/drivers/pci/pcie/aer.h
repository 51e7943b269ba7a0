// The AER port service (drivers/pci/pcie/aer.c and err.c, v6.1) on root ports. aer_probe():
// the root port's MSI vector and interrupt thread, then aer_enable_rootport() (clear the root
// port's error status, enable error reporting in Device Control of the root port and every device
// below it, enable the error-message interrupts in Root Error Command). aer_isr(): read and clear
// Root Error Status, find the source by the Error Source Identification, read and print its AER
// status (aer_print_error), then for an uncorrectable non-fatal error pcie_do_recovery(): every
// driver below the error's bridge hears error_detected (vfio-pci signals its ERR eventfd),
// mmio_enabled and resume as their answers allow, and the source's status is cleared.
// Not ported: correctable errors (the model sends no ERR_COR), fatal-error recovery with a link
// reset (reported, no reset), firmware-first, DPC, the error-injection debugfs.
#pragma once

#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>

#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/drivers/pci/msi/msi.h"
#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

/// aer_enable_rootport(); nothing for a device that is no root port or has no AER capability.
void aer_enable_rootport(PciCore& pci, pci_dev& rp);

class AerService {
 public:
  AerService(PciCore& pci, PciDriverCore& drivers, IrqCore& irqs, PciMsi& msi)
      : pci_(pci), drivers_(drivers), irqs_(irqs), msi_(msi) {}

  /// aer_probe() when pcieport binds a root port with AER: 0, or -ENODEV for any other port.
  int probe(pci_dev& rp);
  /// aer_remove(): the interrupt is freed and reporting disabled in Root Error Command.
  void remove(pci_dev& rp);

  /// pcie_do_recovery() for an error `dev` detected: the drivers' votes merged, the result.
  pci_ers_result_t pcie_do_recovery(pci_dev& dev, pci_channel_state_t state);

 private:
  // struct aer_rpc: the root port and the errors aer_irq() queued for aer_isr().
  struct aer_rpc {
    pci_dev* rpd = nullptr;
    unsigned irq = 0;
    std::deque<std::pair<uint32_t, uint32_t>> aer_fifo;  // (Root Error Status, Error Source)
  };
  irqreturn_t aer_irq(aer_rpc& rpc);
  irqreturn_t aer_isr(aer_rpc& rpc);
  void aer_isr_one_error(pci_dev& rp, uint32_t status, uint32_t e_src);
  /// Every device below `bridge` (the bridge itself without a subordinate bus): pci_walk_bridge().
  void walk_bridge(pci_dev& bridge, const std::function<void(pci_dev&)>& fn);

  PciCore& pci_;
  PciDriverCore& drivers_;
  IrqCore& irqs_;
  PciMsi& msi_;
  std::map<const pci_dev*, std::unique_ptr<aer_rpc>> ports_;  // root ports with the service bound
};

}  // namespace vfiosim::kernel
