#include "sim/app/steps/dma_engine_driver.h"

#include <linux/pci_regs.h>

#include <cerrno>
#include <map>
#include <memory>
#include <stdexcept>

#include "models/pci/dma_engine_regs.h"
#include "vfio/linux/drivers/iommu/dma-iommu.h"
#include "vfio/linux/drivers/pci/pcie/aer.h"
#include "sim/app/steps/step.h"

namespace vfiosim {

namespace {

using namespace pci::dmae;

struct Bound {
  uint64_t bar0 = 0;
  unsigned irq = 0;
  uint64_t interrupts = 0;  // completion interrupts the handler took
  std::unique_ptr<sc_core::sc_event> done = std::make_unique<sc_core::sc_event>(sc_core::sc_gen_unique_name("dmae_done"));
};

// The per-device state a probe() would keep in drvdata, for the devices this harness drives.
std::map<std::string, Bound>& bound_devices() {
  static std::map<std::string, Bound> devices;
  return devices;
}

// The completion interrupt: counted, and the waiting job woken (complete()).
kernel::irqreturn_t dmae_irq(int, void* dev_id) {
  auto& b = *static_cast<Bound*>(dev_id);
  ++b.interrupts;
  b.done->notify(sc_core::SC_ZERO_TIME);
  return kernel::IRQ_HANDLED;
}

// probe(): enable, bus master, one MSI-X vector (pci_alloc_irq_vectors) with its handler.
// -ENODEV for a function without MSI-X, the irq layer's error (-ENOSPC: no vector left)
// otherwise; a probe never throws.
int probe(PciPlatform& pci, kernel::pci_dev& dev) {
  auto& devices = bound_devices();
  kernel::PciCore& k = pci.core();
  if (!dev.msix_cap) return -ENODEV;
  k.enable_device(dev);
  k.set_master(dev);
  Bound& b = devices[dev.name()];
  b.bar0 = dev.res[0].start;
  b.interrupts = 0;
  int ret = pci.msi().pci_alloc_irq_vectors(dev, 1, 1, kernel::PCI_IRQ_MSIX);
  if (ret > 0) {
    b.irq = static_cast<unsigned>(pci.msi().pci_irq_vector(dev, 0));
    ret = pci.kernel().irqs().request_irq(b.irq, dmae_irq, 0, kDmaEngineDriver, &b);
    if (ret) pci.msi().pci_free_irq_vectors(dev);
  }
  if (ret < 0) {
    kernel::kernel_warn("dev_err", dev.name() + ": no MSI-X vector (" + std::to_string(ret) + ")");
    devices.erase(dev.name());
    return ret;
  }
  return 0;
}

// remove(): the irq freed, MSI-X off (pci_free_irq_vectors), bus mastering and decode off
// (pci_disable_device).
void remove(PciPlatform& pci, kernel::pci_dev& dev) {
  kernel::PciCore& k = pci.core();
  auto it = bound_devices().find(dev.name());
  if (it != bound_devices().end()) pci.kernel().irqs().free_irq(it->second.irq, &it->second);
  pci.msi().pci_free_irq_vectors(dev);
  const uint32_t cmd = k.read_config(dev, PCI_COMMAND, 2);
  k.write_config(dev, PCI_COMMAND, 2, cmd & ~uint32_t{PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY});
  dev.is_busmaster = false;
  dev.is_enabled = false;
  bound_devices().erase(dev.name());
}

// wait_for_completion_timeout() in steps of a second: a completion without its interrupt (Bus
// Master Enable cleared, MSI-X masked) is found in STATUS and warned about; an engine still busy
// after ten seconds fails the job instead of waiting forever.
void wait_for_job(HostPort& cpu, uint64_t bar0, Bound& b, uint64_t seen, const std::string& name) {
  constexpr unsigned kTimeouts = 10;
  const sc_core::sc_time timeout(1, sc_core::SC_SEC);
  for (unsigned i = 0; b.interrupts <= seen; ++i) {
    sc_core::wait(timeout, *b.done);
    if (b.interrupts > seen) return;
    const uint64_t status = cpu.read(bar0 + STATUS, 4);
    if (status != 0xFFFFFFFFu && !(status & STATUS_BUSY) && (status & STATUS_DONE)) {
      kernel::kernel_warn("dev_warn", name + ": DMA job done without its completion interrupt");
      return;
    }
    if (i + 1 == kTimeouts) throw StepError(name + ": DMA job timed out (STATUS " + std::to_string(status) + ")");
  }
}

}  // namespace

void register_boot_drivers(PciPlatform& pci) {
  auto port = std::make_unique<kernel::pci_driver>();
  port->name = "pcieport";
  port->id_table = [](const kernel::pci_dev& d) {
    return d.is_pcie() && (d.pcie_type() == PCI_EXP_TYPE_ROOT_PORT || d.pcie_type() == PCI_EXP_TYPE_UPSTREAM ||
                           d.pcie_type() == PCI_EXP_TYPE_DOWNSTREAM);
  };
  port->probe = [&pci](kernel::pci_dev& d) {  // pcie_portdrv_probe(): the AER service on root ports
    pci.aer().probe(d);
    return 0;
  };
  port->remove = [&pci](kernel::pci_dev& d) { pci.aer().remove(d); };
  port->driver_managed_dma = true;
  pci.drivers().register_driver(std::move(port));

  auto dmae = std::make_unique<kernel::pci_driver>();
  dmae->name = kDmaEngineDriver;
  dmae->id_table = [](const kernel::pci_dev& d) {
    return d.vendor == kVendorId && (d.device == kDeviceId || d.device == kDeviceIdFunc1Alias || d.device == kDeviceIdVf);
  };
  // The PF driver's sriov_configure(): pci_enable_sriov() / pci_disable_sriov().
  dmae->sriov_configure = [&pci](kernel::pci_dev& d, int n) {
    if (n == 0) {
      pci.iov().pci_disable_sriov(d);
      return 0;
    }
    const int ret = pci.iov().pci_enable_sriov(d, n);
    return ret ? ret : n;
  };
  dmae->probe = [&pci](kernel::pci_dev& d) { return probe(pci, d); };
  dmae->remove = [&pci](kernel::pci_dev& d) {
    if (d.is_physfn) pci.iov().pci_disable_sriov(d);  // a PF driver takes its VFs with it
    remove(pci, d);
  };
  pci.drivers().register_driver(std::move(dmae));
}

EngineRun run_engine_job(PciPlatform& pci, const std::string& bdf, const Workload& w, const DmaMapping& map) {
  kernel::pci_dev* dev = pci.core().find(bdf);
  if (!dev) throw StepError("no PCI device " + bdf + " after enumeration");
  // The job runs under the device lock with a reference, as a driver's synchronous operation that
  // its remove() waits for: an unbind or removal that comes meanwhile waits until it is done.
  kernel::device_ref ref(&dev->dev);
  kernel::device_lock_guard lock(&dev->dev);
  if (dev->dev.dead) throw StepError(bdf + " was removed");
  const kernel::pci_driver* drv = pci.drivers().driver_of(*dev);
  if (!drv || drv->name != kDmaEngineDriver)
    throw StepError(bdf + " is not bound to " + kDmaEngineDriver + " (driver: " +
                             (drv ? drv->name : std::string("none")) + ")");
  Bound& b = bound_devices().at(dev->name());
  HostPort& cpu = pci.kernel().cpu();
  const uint64_t r = b.bar0;

  const uint32_t control = (w.direction == DmaDirection::Write ? uint32_t{CTRL_WRITE} : 0u) |
                           (w.pattern == AddressPattern::Random ? uint32_t{CTRL_RANDOM} : 0u) |
                           (w.verify ? uint32_t{CTRL_VERIFY} : 0u) | CTRL_IRQ;
  EngineRun out;
  // dma_map_resource() of the window in whole granules, when an IOMMU translates for the device.
  uint64_t dma_addr = w.address, map_base = 0, map_len = 0, iova = 0;
  kernel::IommuCore* core = pci.iommu();
  kernel::iommu_domain* domain = core ? core->iommu_get_dma_domain(&dev->dev) : nullptr;
  const bool translating = domain && domain->type != kernel::IOMMU_DOMAIN_IDENTITY;
  if (translating && map.enabled) {
    map_base = w.address & ~(map.granule - 1);
    map_len = ((w.address + w.window + map.granule - 1) & ~(map.granule - 1)) - map_base;
    iova = pci.dma_api()->map(&dev->dev, map_base, map_len, kernel::IOMMU_READ | kernel::IOMMU_WRITE);
    if (iova == kernel::DMA_MAPPING_ERROR) throw StepError("dma_map of " + std::to_string(map_len) + " bytes failed");
    dma_addr = iova + (w.address - map_base);
    out.mapped = true;
    // The page size the mapping got: the largest size both addresses and the length allow.
    out.page_size = kernel::iommu_pgsize(domain->pgsize_bitmap, iova, map_base, map_len, nullptr);
  }
  out.dma_address = dma_addr;
  cpu.write(r + ADDR, 8, dma_addr);
  cpu.write(r + WINDOW, 8, w.window);
  cpu.write(r + SIZE, 4, w.size);
  cpu.write(r + COUNT, 8, w.count);
  cpu.write(r + OUTSTANDING, 4, w.outstanding);
  cpu.write(r + STRIDE, 4, w.stride);
  cpu.write(r + PATTERN_ADDR, 8, dma_addr != w.address ? w.address : 0);
  cpu.write(r + DATA_SEED, 4, w.data_seed);
  cpu.write(r + MSIX_VECTOR, 4, 0);
  cpu.write(r + CONTROL, 4, control);
  const uint64_t seen = b.interrupts;
  cpu.write(r + DOORBELL, 4, 1);
  wait_for_job(cpu, r, b, seen, dev->name());

  WorkloadSummary& s = out.summary;
  s.requests = cpu.read(r + RES_REQUESTS, 8);
  s.bytes = cpu.read(r + RES_BYTES, 8);
  s.errors = cpu.read(r + RES_ERRORS, 8);
  s.mismatches = cpu.read(r + RES_MISMATCHES, 8);
  s.duration_ps = cpu.read(r + RES_ELAPSED_PS, 8);
  s.lat_min_ps = cpu.read(r + RES_LAT_MIN_PS, 8);
  s.lat_p50_ps = cpu.read(r + RES_LAT_P50_PS, 8);
  s.lat_p90_ps = cpu.read(r + RES_LAT_P90_PS, 8);
  s.lat_p99_ps = cpu.read(r + RES_LAT_P99_PS, 8);
  s.lat_max_ps = cpu.read(r + RES_LAT_MAX_PS, 8);
  s.lat_mean_ps = static_cast<double>(cpu.read(r + RES_LAT_MEAN_PS, 8));
  cpu.write(r + STATUS, 4, STATUS_DONE | STATUS_ERROR);  // acknowledge

  const kernel::pci_dev& ctl_dev = dev->is_virtfn ? *dev->physfn : *dev;  // a VF runs at its PF's MPS/MRRS
  const uint32_t devctl = pci.core().read_config(ctl_dev, ctl_dev.pcie_cap + PCI_EXP_DEVCTL, 2);
  out.mps = 128u << ((devctl & PCI_EXP_DEVCTL_PAYLOAD) >> 5);
  out.mrrs = 128u << ((devctl & PCI_EXP_DEVCTL_READRQ) >> 12);
  if (out.mapped) pci.dma_api()->unmap(&dev->dev, iova, map_len);  // dma_unmap_resource()
  return out;
}

}  // namespace vfiosim
