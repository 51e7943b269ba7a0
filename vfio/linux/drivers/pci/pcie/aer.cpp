#include "vfio/linux/drivers/pci/pcie/aer.h"

#include <linux/pci_regs.h>

#include <cerrno>
#include <cstdio>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

namespace {
// pci_enable_pcie_error_reporting() on one device.
void enable_reporting(PciCore& pci, pci_dev& dev) {
  if (!dev.is_pcie()) return;
  const int reg = dev.pcie_cap + PCI_EXP_DEVCTL;
  const uint32_t ctl = pci.read_config(dev, reg, 2);
  pci.write_config(dev, reg, 2,
                   ctl | PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE);
}
}  // namespace

void aer_enable_rootport(PciCore& pci, pci_dev& rp) {
  if (!rp.is_pcie() || rp.pcie_type() != PCI_EXP_TYPE_ROOT_PORT) return;
  const int aer = rp.aer_cap;
  if (!aer) return;
  // Clear what firmware left: Root Error Status, correctable and uncorrectable status (RW1C).
  pci.write_config(rp, aer + PCI_ERR_ROOT_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_ROOT_STATUS, 4));
  pci.write_config(rp, aer + PCI_ERR_COR_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_COR_STATUS, 4));
  pci.write_config(rp, aer + PCI_ERR_UNCOR_STATUS, 4, pci.read_config(rp, aer + PCI_ERR_UNCOR_STATUS, 4));
  enable_reporting(pci, rp);  // set_downstream_devices_error_reporting()
  if (rp.subordinate) pci_walk_bus(rp.subordinate, [&](pci_dev& d) { enable_reporting(pci, d); });
  const uint32_t cmd = pci.read_config(rp, aer + PCI_ERR_ROOT_COMMAND, 4);
  pci.write_config(rp, aer + PCI_ERR_ROOT_COMMAND, 4,
                   cmd | PCI_ERR_ROOT_CMD_COR_EN | PCI_ERR_ROOT_CMD_NONFATAL_EN | PCI_ERR_ROOT_CMD_FATAL_EN);
}

namespace {
const char* kUncorNames[32] = {"Undefined", nullptr, nullptr, nullptr, "DLP", "SDES", nullptr, nullptr, nullptr,
                               nullptr, nullptr, nullptr, "TLP", "FCP", "CmpltTO", "CmpltAbrt", "UnxCmplt",
                               "RxOF", "MalfTLP", "ECRC", "UnsupReq", "ACSViol", "UncorrIntErr", "BlockedTLP",
                               "AtomicOpBlocked", "TLPBlockedErr", "PoisonTLPBlocked"};

// merge_result(): how one driver's answer changes the recovery's status.
pci_ers_result_t merge_result(pci_ers_result_t orig, pci_ers_result_t next) {
  if (next == PCI_ERS_RESULT_NO_AER_DRIVER) return PCI_ERS_RESULT_NO_AER_DRIVER;
  if (next == PCI_ERS_RESULT_NONE) return orig;
  switch (orig) {
    case PCI_ERS_RESULT_CAN_RECOVER:
    case PCI_ERS_RESULT_RECOVERED: return next;
    case PCI_ERS_RESULT_DISCONNECT: return next == PCI_ERS_RESULT_NEED_RESET ? PCI_ERS_RESULT_NEED_RESET : orig;
    default: return orig;
  }
}
}  // namespace

// pcie_port_device_register()'s interrupt (pcie_init_service_irqs(): one MSI-X or MSI vector, else
// INTx), then aer_probe(): the threaded handler requested shared, the root port's reporting set up.
int AerService::probe(pci_dev& rp) {
  if (!rp.is_pcie() || rp.pcie_type() != PCI_EXP_TYPE_ROOT_PORT) return -ENODEV;
  if (!rp.aer_cap) return -ENODEV;
  auto rpc = std::make_unique<aer_rpc>();
  rpc->rpd = &rp;
  int irq = -ENODEV;
  if (msi_.pci_alloc_irq_vectors(rp, 1, 1, PCI_IRQ_MSIX | PCI_IRQ_MSI) > 0 ||
      msi_.pci_alloc_irq_vectors(rp, 1, 1, PCI_IRQ_LEGACY) > 0)
    irq = msi_.pci_irq_vector(rp, 0);
  if (irq > 0) {
    pci_.set_master(rp);
    aer_rpc* r = rpc.get();
    const int ret = irqs_.request_threaded_irq(
        static_cast<unsigned>(irq), [this](int, void* id) { return aer_irq(*static_cast<aer_rpc*>(id)); },
        [this](int, void* id) { return aer_isr(*static_cast<aer_rpc*>(id)); }, IRQF_SHARED, "aerdrv", r);
    if (ret) {
      msi_.pci_free_irq_vectors(rp);
      return ret;
    }
    rpc->irq = static_cast<unsigned>(irq);
  }
  ports_[&rp] = std::move(rpc);
  aer_enable_rootport(pci_, rp);
  return 0;
}

// aer_remove(): Root Error Command off; then the devm irq and the port's vectors are released.
void AerService::remove(pci_dev& rp) {
  auto it = ports_.find(&rp);
  if (rp.aer_cap) pci_.write_config(rp, rp.aer_cap + PCI_ERR_ROOT_COMMAND, 4, 0);
  if (it == ports_.end()) return;
  if (it->second->irq) {
    irqs_.free_irq(it->second->irq, it->second.get());
    msi_.pci_free_irq_vectors(rp);
  }
  ports_.erase(it);
}

// aer_irq(): the top half reads and clears Root Error Status and queues it with the source id.
irqreturn_t AerService::aer_irq(aer_rpc& rpc) {
  pci_dev& rp = *rpc.rpd;
  const int aer = rp.aer_cap;
  const uint32_t status = pci_.read_config(rp, aer + PCI_ERR_ROOT_STATUS, 4);
  if (!(status & (PCI_ERR_ROOT_UNCOR_RCV | PCI_ERR_ROOT_COR_RCV))) return IRQ_NONE;
  const uint32_t e_src = pci_.read_config(rp, aer + PCI_ERR_ROOT_ERR_SRC, 4);
  pci_.write_config(rp, aer + PCI_ERR_ROOT_STATUS, 4, status);  // RW1C
  rpc.aer_fifo.emplace_back(status, e_src);
  return IRQ_WAKE_THREAD;
}

// aer_isr(): the thread handles what the top half queued.
irqreturn_t AerService::aer_isr(aer_rpc& rpc) {
  while (!rpc.aer_fifo.empty()) {
    const auto [status, e_src] = rpc.aer_fifo.front();
    rpc.aer_fifo.pop_front();
    aer_isr_one_error(*rpc.rpd, status, e_src);
  }
  return IRQ_HANDLED;
}

// aer_isr_one_error() -> find_source_device(), aer_get_device_error_info(), aer_print_error(),
// handle_error_source().
void AerService::aer_isr_one_error(pci_dev& rp, uint32_t status, uint32_t e_src) {
  if (!(status & PCI_ERR_ROOT_UNCOR_RCV)) return;  // correctable errors: not modelled
  const bool fatal = status & PCI_ERR_ROOT_FATAL_RCV;
  const char* sev = fatal ? "Uncorrected (Fatal)" : "Uncorrected (Non-Fatal)";
  const uint16_t id = static_cast<uint16_t>(e_src >> 16);
  pci_dev* dev = pci_.get_bus_and_slot(static_cast<uint8_t>(id >> 8), id & 0xFF);
  char msg[200];
  std::snprintf(msg, sizeof msg, "pcieport %s: AER: %s error received: %s", rp.name().c_str(), sev,
                dev ? dev->name().c_str() : pci_name(static_cast<uint8_t>(id >> 8), id & 0xFF).c_str());
  kernel_warn("pci_err", msg);
  if (!dev) {
    std::snprintf(msg, sizeof msg, "pcieport %s: AER: Can't find device for ID %04x", rp.name().c_str(), id);
    kernel_warn("pci_err", msg);
    return;
  }
  const int aer = dev->aer_cap;
  if (!aer) return;
  const uint32_t st = pci_.read_config(*dev, aer + PCI_ERR_UNCOR_STATUS, 4);
  const uint32_t mask = pci_.read_config(*dev, aer + PCI_ERR_UNCOR_MASK, 4);
  const uint32_t first = pci_.read_config(*dev, aer + PCI_ERR_CAP, 4) & 0x1F;
  if (!(st & ~mask)) return;
  std::snprintf(msg, sizeof msg, "%s: PCIe Bus Error: severity=%s, type=Transaction Layer, (%s)",
                dev->name().c_str(), sev, st & PCI_ERR_UNC_UNSUP ? "Requester ID" : "Receiver ID");
  kernel_warn("pci_err", msg);
  std::snprintf(msg, sizeof msg, "%s:   device [%04x:%04x] error status/mask=%08x/%08x", dev->name().c_str(),
                dev->vendor, dev->device, st, mask);
  kernel_warn("pci_err", msg);
  for (unsigned bit = 0; bit < 32; ++bit)
    if ((st & ~mask) & (1u << bit)) {
      std::snprintf(msg, sizeof msg, "%s:    [%2u] %-22s%s", dev->name().c_str(), bit,
                    kUncorNames[bit] ? kUncorNames[bit] : "Unknown", bit == first ? "(First)" : "");
      kernel_warn("pci_err", msg);
    }
  pcie_do_recovery(*dev, fatal ? pci_channel_io_frozen : pci_channel_io_normal);
}

void AerService::walk_bridge(pci_dev& bridge, const std::function<void(pci_dev&)>& fn) {
  if (bridge.subordinate) pci_walk_bus(bridge.subordinate, fn);
  else fn(bridge);
}

// pcie_do_recovery(): the error's bridge (the port itself, or the device's upstream port), every
// driver below it asked, then resumed and the status cleared when all could recover.
pci_ers_result_t AerService::pcie_do_recovery(pci_dev& dev, pci_channel_state_t state) {
  const int type = dev.is_pcie() ? dev.pcie_type() : -1;
  pci_dev* bridge = (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM) ? &dev : dev.bus->self;
  if (!bridge) bridge = &dev;
  pci_ers_result_t status = PCI_ERS_RESULT_CAN_RECOVER;
  auto handlers = [&](pci_dev& d) -> const pci_error_handlers* {
    const pci_driver* drv = drivers_.driver_of(d);
    return drv ? drv->err_handler : nullptr;
  };
  walk_bridge(*bridge, [&](pci_dev& d) {  // report_normal_detected / report_frozen_detected
    const pci_error_handlers* h = handlers(d);
    pci_ers_result_t vote;
    if (!h || !h->error_detected) vote = d.is_bridge() ? PCI_ERS_RESULT_NONE : PCI_ERS_RESULT_NO_AER_DRIVER;
    else vote = h->error_detected(d, state);
    status = merge_result(status, vote);
  });
  if (status == PCI_ERS_RESULT_CAN_RECOVER) {
    status = PCI_ERS_RESULT_RECOVERED;
    walk_bridge(*bridge, [&](pci_dev& d) {  // report_mmio_enabled
      const pci_error_handlers* h = handlers(d);
      if (h && h->mmio_enabled) status = merge_result(status, h->mmio_enabled(d));
    });
  }
  if (status == PCI_ERS_RESULT_NEED_RESET) {  // 6.1 resets nothing before slot_reset
    status = PCI_ERS_RESULT_RECOVERED;
    walk_bridge(*bridge, [&](pci_dev& d) {
      const pci_error_handlers* h = handlers(d);
      if (h && h->slot_reset) status = merge_result(status, h->slot_reset(d));
    });
  }
  if (status != PCI_ERS_RESULT_RECOVERED) {
    kernel_warn("pci_info", "pcieport " + bridge->name() + ": AER: device recovery failed");
    return status;
  }
  walk_bridge(*bridge, [&](pci_dev& d) {  // report_resume
    const pci_error_handlers* h = handlers(d);
    if (h && h->resume) h->resume(d);
  });
  // pcie_clear_device_status() and pci_aer_clear_nonfatal_status() on the device that detected it.
  if (dev.is_pcie()) {
    const int devsta = dev.pcie_cap + PCI_EXP_DEVSTA;
    pci_.write_config(dev, devsta, 2, pci_.read_config(dev, devsta, 2));
  }
  if (const int aer = dev.aer_cap) {
    const uint32_t st = pci_.read_config(dev, aer + PCI_ERR_UNCOR_STATUS, 4);
    const uint32_t sev = pci_.read_config(dev, aer + PCI_ERR_UNCOR_SEVER, 4);
    if (st & ~sev) pci_.write_config(dev, aer + PCI_ERR_UNCOR_STATUS, 4, st & ~sev);
  }
  kernel_warn("pci_info", "pcieport " + bridge->name() + ": AER: device recovery successful");
  return status;
}

}  // namespace vfiosim::kernel
