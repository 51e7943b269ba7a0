// vfio-pci BAR mmap (drivers/vfio/pci/vfio_pci_core.c, v6.1): vfio_pci_probe_mmaps(),
// vfio_pci_core_mmap() and the fault handler's memory-enable check. The area maps the BAR's bus
// addresses; every user access goes to the device through the CPU (as uncached MMIO does) and
// gets SIGBUS while the function's memory decode is off (vfio_pci_mmap_fault after a zap).
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cerrno>

#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

namespace vfiosim::kernel {

namespace {
constexpr unsigned kOffsetShift = 40;  // VFIO_PCI_OFFSET_SHIFT
constexpr unsigned kPageShift = 12;
constexpr uint64_t kPageSize = 1ULL << kPageShift;
}  // namespace

bool VfioPci::bar_mmap_supported(const pci_dev& dev, unsigned index) const {
  if (index > 5) return false;
  const resource& r = dev.res[index];
  if (!r.size() || !(r.flags & IORESOURCE_MEM)) return false;
  // Page-aligned and at least a page (a smaller BAR alone in its page would be padded with a
  // dummy resource; the allocator here never places one so).
  return !(r.start & (kPageSize - 1)) && r.size() >= kPageSize;
}

// vfio_pci_core_mmap()
int VfioPci::mmap(vfio_pci_core_device& v, vm_area& vma) {
  pci_dev& dev = *v.pdev;
  const uint64_t index = vma.vm_pgoff >> (kOffsetShift - kPageShift);
  if (index >= VFIO_PCI_NUM_REGIONS) return -EINVAL;
  if (vma.end < vma.start) return -EINVAL;
  if (!vma.shared) return -EINVAL;  // VM_SHARED is required
  if (index >= VFIO_PCI_ROM_REGION_INDEX) return -EINVAL;
  if (!bar_mmap_supported(dev, static_cast<unsigned>(index))) return -EINVAL;
  const uint64_t phys_len = (dev.res[index].size() + kPageSize - 1) & ~(kPageSize - 1);
  const uint64_t req_len = vma.end - vma.start;
  const uint64_t pgoff = vma.vm_pgoff & ((1ULL << (kOffsetShift - kPageShift)) - 1);
  const uint64_t req_start = pgoff << kPageShift;
  if (req_start + req_len > phys_len) return -EINVAL;
  vma.io = true;  // VM_IO | VM_PFNMAP, uncached
  vma.io_phys = dev.res[index].start + req_start;
  vma.io_ok = [this, &v] { return memory_enabled(v); };
  return 0;
}

}  // namespace vfiosim::kernel
