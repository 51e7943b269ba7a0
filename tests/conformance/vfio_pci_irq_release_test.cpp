// vfio-pci gives back what it took from the irq layer (vfio_pci_intrs.c, v6.1): SET_IRQS with
// eventfds requests one irq per vector from pci_alloc_irq_vectors(); disabling MSI-X, closing the
// device and a failed enable each free the irqs and return the vectors. (Before the irq layer,
// vfio-pci kept a vector and an endless handler thread per enable.)
#include <linux/vfio.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/machine.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using namespace vfiosim::kernel;

namespace {

struct IrqUse {
  size_t allocated = 0, requested = 0;
  bool operator==(const IrqUse& o) const { return allocated == o.allocated && requested == o.requested; }
};
IrqUse use(PciPlatform& pci) { return {pci.kernel().irqs().nr_allocated(), pci.kernel().irqs().nr_requested()}; }

long set_msix(PciPlatform& pci, Task& t, int device, const std::vector<int32_t>& fds) {
  std::vector<uint8_t> buf(sizeof(vfio_irq_set) + fds.size() * 4);
  auto* s = reinterpret_cast<vfio_irq_set*>(buf.data());
  s->argsz = static_cast<uint32_t>(buf.size());
  s->flags = (fds.empty() ? VFIO_IRQ_SET_DATA_NONE : VFIO_IRQ_SET_DATA_EVENTFD) | VFIO_IRQ_SET_ACTION_TRIGGER;
  s->index = VFIO_PCI_MSIX_IRQ_INDEX;
  s->start = 0;
  s->count = static_cast<uint32_t>(fds.size());
  std::memcpy(buf.data() + sizeof(vfio_irq_set), fds.data(), fds.size() * 4);
  return pci.kernel().syscalls().ioctl(t, device, VFIO_DEVICE_SET_IRQS, t.alloc_arg(buf.data(), buf.size()));
}

}  // namespace

TEST(VfioPciIrqs, DisableCloseAndAFailedEnableReturnEveryIrq) {
  support::Machine m;
  IrqUse idle, enabled, disabled, reenabled, closed, failed;
  long bad_fd = 0;
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    Task& t = m.task("qemu");
    ASSERT_EQ(m.to_vfio_pci("01:00.0"), 0);
    const int d = m.open_device(t, m.group_path("01:00.0"), "0000:01:00.0").device;
    ASSERT_GE(d, 0);
    idle = use(pci);
    const int e0 = static_cast<int>(pci.kernel().syscalls().eventfd2(t, 0, 0));
    const int e1 = static_cast<int>(pci.kernel().syscalls().eventfd2(t, 0, 0));
    EXPECT_EQ(set_msix(pci, t, d, {e0, e1}), 0);
    enabled = use(pci);
    EXPECT_EQ(set_msix(pci, t, d, {}), 0);  // DATA_NONE, count 0: MSI-X off
    disabled = use(pci);
    // A bad eventfd for vector 1: vector 0's irq is released again and MSI-X disabled.
    bad_fd = set_msix(pci, t, d, {e0, 999});
    failed = use(pci);
    EXPECT_EQ(set_msix(pci, t, d, {e0, e1}), 0);
    reenabled = use(pci);
    EXPECT_EQ(pci.kernel().syscalls().close(t, d), 0);  // vfio_pci_core_close_device disables interrupts
    closed = use(pci);
  });
  EXPECT_EQ(enabled.allocated, idle.allocated + 2);
  EXPECT_EQ(enabled.requested, idle.requested + 2);
  EXPECT_TRUE(disabled == idle);
  EXPECT_EQ(bad_fd, -EBADF);
  EXPECT_TRUE(failed == idle);
  EXPECT_TRUE(reenabled == enabled);
  EXPECT_TRUE(closed == idle);
}
