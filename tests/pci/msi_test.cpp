// PCI MSI and MSI-X on the irq layer (drivers/pci/msi, v6.1): what pci_alloc_irq_vectors() leaves
// in the MSI-X table and capability, request_irq() unmasking and free_irq() masking and clearing an
// entry, pci_free_irq_vectors() returning the device and the vectors, the allocation errors, and
// multi-message MSI only with interrupt remapping.
#include <linux/pci_regs.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "tests/support/machine.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using nlohmann::json;

namespace {

// The usual machine (one engine at 01:00.0 behind a VT-d unit), with or without interrupt
// remapping, and a look at the engine's MSI-X table.
struct MsiMachine : support::Machine {
  explicit MsiMachine(bool iommu, bool remapping = true)
      : support::Machine(iommu ? support::one_engine().iommu({{"preset", "broadwell-vtd"},
                                                                              {"interrupt_remapping", remapping}})
                               : support::one_engine().no_iommu()) {}
  pci_dev& dev() { return support::Machine::dev("01:00.0"); }
  uint32_t entry(unsigned i, unsigned off) { return static_cast<uint32_t>(kernel().cpu().read(dev().msix_base + i * 16 + off, 4)); }
  void unbind() { support::Machine::unbind("01:00.0"); }
};

irqreturn_t count_handler(int, void* id) {
  ++*static_cast<int*>(id);
  return IRQ_HANDLED;
}

void multi_message_msi(bool remapping);

}  // namespace

TEST(PciMsi, HarnessProbeLeavesItsVectorProgrammedAndTheRestOfTheTableMasked) {
  MsiMachine m(true);
  sctest::run_in_thread([&] {
    m.boot();
    pci_dev& d = m.dev();
    ASSERT_TRUE(d.msix_enabled);
    const int irq = m.pci().msi().pci_irq_vector(d, 0);
    ASSERT_GT(irq, 0);
    uint64_t address = 0;
    uint32_t data = 0;
    m.kernel().irqs().compose_msi_msg(static_cast<unsigned>(irq), address, data);
    EXPECT_EQ(m.entry(0, PCI_MSIX_ENTRY_LOWER_ADDR), static_cast<uint32_t>(address));
    EXPECT_EQ(m.entry(0, PCI_MSIX_ENTRY_DATA), data);
    EXPECT_EQ(m.entry(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 0u);  // requested: unmasked
    for (unsigned i = 1; i < 8; ++i) EXPECT_EQ(m.entry(i, PCI_MSIX_ENTRY_VECTOR_CTRL), 1u) << i;
    const uint32_t ctrl = m.pci().core().read_config(d, d.msix_cap + PCI_MSIX_FLAGS, 2);
    EXPECT_TRUE(ctrl & PCI_MSIX_FLAGS_ENABLE);
    EXPECT_FALSE(ctrl & PCI_MSIX_FLAGS_MASKALL);
    EXPECT_TRUE(m.pci().core().read_config(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
    EXPECT_EQ(m.pci().msi().pci_irq_vector(d, 1), -EINVAL);  // one vector allocated
  });
}

TEST(PciMsi, UnbindFreesTheIrqAndVectorsAndReturnsTheDeviceMasked) {
  MsiMachine m(true);
  sctest::run_in_thread([&] {
    m.boot();
    IrqCore& irqs = m.kernel().irqs();
    const size_t allocated = irqs.nr_allocated();
    const size_t requested = irqs.nr_requested();
    unsigned free_before = 0;
    for (unsigned c = 0; c < irqs.vectors().nr_cpus(); ++c) free_before += irqs.vectors().available(c);
    const uint64_t table = m.dev().msix_base;
    m.unbind();
    pci_dev& d = m.dev();
    EXPECT_FALSE(d.msix_enabled);
    EXPECT_TRUE(d.msi_descs.empty());
    EXPECT_EQ(irqs.nr_allocated(), allocated - 1);
    EXPECT_EQ(irqs.nr_requested(), requested - 1);
    unsigned free_after = 0;
    for (unsigned c = 0; c < irqs.vectors().nr_cpus(); ++c) free_after += irqs.vectors().available(c);
    EXPECT_EQ(free_after, free_before + 1);
    // Entry 0 masked and its message cleared (msi_domain_deactivate); MSI-X off. (Memory decode
    // went with pci_disable_device: turned back on to look.)
    m.pci().core().write_config(d, PCI_COMMAND, 2, m.pci().core().read_config(d, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
    EXPECT_EQ(m.kernel().cpu().read(table + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1u);
    EXPECT_EQ(m.kernel().cpu().read(table + PCI_MSIX_ENTRY_DATA, 4), 0u);
    EXPECT_FALSE(m.pci().core().read_config(d, d.msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
  });
}

TEST(PciMsi, AllocationErrorsFollowTheKernel) {
  MsiMachine m(true);
  sctest::run_in_thread([&] {
    m.boot();
    PciMsi& msi = m.pci().msi();
    pci_dev& d = m.dev();
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 1, 1, PCI_IRQ_MSIX), -EINVAL);  // bound: MSI-X on already
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 1, 1, PCI_IRQ_MSI), -EINVAL);   // MSI-X on: no MSI
    m.unbind();
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 2, 1, PCI_IRQ_MSIX), -ERANGE);
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 9, 16, PCI_IRQ_MSIX), -ENOSPC);  // 8 entries: below the minimum
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 1, 16, PCI_IRQ_MSIX), 8);       // retried with the table's size
    EXPECT_EQ(msi.pci_irq_vector(d, 7) - msi.pci_irq_vector(d, 0), 7);
    msi.pci_free_irq_vectors(d);
    d.current_state = PCI_D3hot;
    EXPECT_EQ(msi.pci_alloc_irq_vectors(d, 1, 1, PCI_IRQ_MSIX), -EINVAL);  // not in D0
    d.current_state = PCI_D0;
  });
}

// One platform per process (SystemC elaborates once): the two cases are two tests.
namespace {
void multi_message_msi(bool remapping) {
  {
    MsiMachine m(true, remapping);
    int got = 0, n = 0;
    uint32_t mme = 0, data = 0;
    int irq0 = 0;
    sctest::run_in_thread([&] {
      m.boot();
      m.unbind();
      pci_dev& d = m.dev();
      got = m.pci().msi().pci_alloc_irq_vectors(d, 1, 4, PCI_IRQ_MSI);
      mme = (m.pci().core().read_config(d, d.msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4;
      data = m.pci().core().read_config(d, d.msi_cap + PCI_MSI_DATA_64, 2);
      irq0 = m.pci().msi().pci_irq_vector(d, 0);
      EXPECT_EQ(static_cast<int>(d.irq), irq0);  // dev->irq is the first MSI irq while MSI is on
      // The last vector's interrupt reaches its handler.
      const int last = m.pci().msi().pci_irq_vector(d, static_cast<unsigned>(got - 1));
      ASSERT_EQ(m.kernel().irqs().request_irq(static_cast<unsigned>(last), count_handler, 0, "t", &n), 0);
      uint64_t address = 0;
      uint32_t v = 0;
      m.kernel().irqs().compose_msi_msg(static_cast<unsigned>(last), address, v);
      m.apic().deliver(0x0100, address, v, 0);
      sc_core::wait(10, sc_core::SC_NS);
      m.kernel().irqs().free_irq(static_cast<unsigned>(last), &n);
      m.pci().msi().pci_free_irq_vectors(d);
      EXPECT_FALSE(d.msi_enabled);
      EXPECT_NE(static_cast<int>(d.irq), irq0);  // back to the INTx irq
    });
    EXPECT_EQ(got, remapping ? 4 : 1);
    EXPECT_EQ(mme, remapping ? 2u : 0u);
    EXPECT_EQ(n, 1);
    EXPECT_EQ(data & 0xFF, data);  // an x86 vector
    EXPECT_EQ(data % (remapping ? 4 : 1), 0u);  // a block starts aligned
  }
}
}  // namespace

TEST(PciMsi, MultiMessageMsiWithInterruptRemapping) { multi_message_msi(true); }
TEST(PciMsi, MultiMessageMsiWithoutRemappingIsOneVector) { multi_message_msi(false); }
