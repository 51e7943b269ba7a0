// The irq layer (kernel/irq, arch/x86 vector domain): vector allocation rules, request_irq() and
// free_irq() errors, the chip's activate/unmask on the first request and mask/deactivate on the
// last free, handlers that run only while requested, edge coalescing and shared level lines.
#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "models/cpu/interrupt_controller.h"
#include "tests/support/sc_test.h"
#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/kernel/sync.h"

using namespace vfiosim;
using namespace vfiosim::kernel;

namespace {

irqreturn_t count_handler(int, void* id) {
  ++*static_cast<int*>(id);
  return IRQ_HANDLED;
}

// A message to `irq`'s vector as the root complex would hand it over, arriving at once.
void send_msi(InterruptController& ic, IrqCore& irqs, unsigned irq) {
  uint64_t address = 0;
  uint32_t data = 0;
  irqs.compose_msi_msg(irq, address, data);
  ic.deliver(0x0100, address, data, 0);
}

// An interrupt controller and the irq layer over it, on `cpus` CPUs.
struct IrqWorld {
  stats::Group root{"system"};
  InterruptController ic{root};
  IrqCore irqs;
  explicit IrqWorld(unsigned cpus = 1) : irqs(ic, cpus) {}
  unsigned msi_irq() { return static_cast<unsigned>(irqs.irq_alloc_vectors(1, false)); }
};

}  // namespace

TEST(VectorMatrix, SpreadsOverCpusAndSkipsSystemAndIsaVectors) {
  VectorMatrix m(2);
  apic_vector a, b, c;
  ASSERT_EQ(m.alloc(1, a), 0);
  EXPECT_EQ(a.cpu, 1u);  // CPU 0 keeps the ISA vectors: CPU 1 has more free
  EXPECT_EQ(a.vector, FIRST_EXTERNAL_VECTOR);
  ASSERT_EQ(m.alloc(1, b), 0);
  EXPECT_EQ(b.cpu, 1u);  // still the most available (16 ISA vectors reserved on CPU 0)
  std::vector<apic_vector> all;
  apic_vector v;
  while (m.alloc(1, v) == 0) all.push_back(v);
  for (const auto& x : all) {
    EXPECT_NE(x.vector, IA32_SYSCALL_VECTOR);
    EXPECT_LT(x.vector, FIRST_SYSTEM_VECTOR);
    EXPECT_GE(x.vector, FIRST_EXTERNAL_VECTOR);
    if (x.cpu == 0) {
      EXPECT_FALSE(x.vector >= ISA_IRQ_VECTOR_FIRST && x.vector <= ISA_IRQ_VECTOR_LAST);
    }
  }
  EXPECT_EQ(m.alloc(1, c), -ENOSPC);
  EXPECT_EQ(m.available(0) + m.available(1), 0u);
  m.free(a, 1);
  ASSERT_EQ(m.alloc(1, c), 0);
  EXPECT_EQ(c.cpu, a.cpu);
  EXPECT_EQ(c.vector, a.vector);
}

TEST(VectorMatrix, BlocksAreAlignedAndPowersOfTwo) {
  VectorMatrix m(1);
  apic_vector one, four;
  ASSERT_EQ(m.alloc(1, one), 0);
  ASSERT_EQ(m.alloc(4, four), 0);
  EXPECT_EQ(four.vector % 4, 0u);
  EXPECT_GT(four.vector, one.vector);
  apic_vector bad;
  EXPECT_EQ(m.alloc(3, bad), -EINVAL);
  EXPECT_EQ(m.alloc(0, bad), -EINVAL);
  EXPECT_EQ(x86_msi_address({3, 0x41}), 0xFEE03000u);
}

TEST(IrqCore, RequestErrorsFollowTheKernel) {
  IrqWorld w(1);
  auto& irqs = w.irqs;
  int n = 0;
  const int irq = irqs.irq_alloc_vectors(1, false);
  ASSERT_GE(irq, static_cast<int>(NR_IRQS_GSI));
  sctest::run_in_thread([&] {
    const auto u = static_cast<unsigned>(irq);
    EXPECT_EQ(irqs.request_irq(u, count_handler, IRQF_SHARED, "a", nullptr), -EINVAL);  // shared needs a dev_id
    EXPECT_EQ(irqs.request_irq(0, count_handler, 0, "timer", &n), -EINVAL);
    EXPECT_EQ(irqs.request_irq(u + 100, count_handler, 0, "none", &n), -EINVAL);        // no descriptor
    EXPECT_EQ(irqs.request_threaded_irq(u, nullptr, nullptr, 0, "x", &n), -EINVAL);     // no handler at all
    EXPECT_EQ(irqs.request_threaded_irq(u, nullptr, count_handler, 0, "x", &n), -EINVAL);  // threaded, not ONESHOT
    EXPECT_EQ(irqs.request_irq(u, count_handler, 0, "first", &n), 0);
    int other = 0;
    EXPECT_EQ(irqs.request_irq(u, count_handler, IRQF_SHARED, "second", &other), -EBUSY);  // first not shared
    EXPECT_EQ(irqs.free_irq(u, &n), "first");
    EXPECT_EQ(irqs.nr_requested(), 0u);
  });
}

TEST(IrqCore, FreeingAFreeIrqWarnsAndReturnsNoName) {
  IrqWorld w(1);
  auto& irqs = w.irqs;
  std::vector<std::string> warnings;
  set_kernel_report([&](const std::string&, const std::string& m) { warnings.push_back(m); });
  const int irq = irqs.irq_alloc_vectors(1, false);
  int n = 0;
  EXPECT_EQ(irqs.free_irq(static_cast<unsigned>(irq), &n), "");
  set_kernel_report(nullptr);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("Trying to free already-free IRQ"), std::string::npos);
}

TEST(IrqCore, ChipIsActivatedAndUnmaskedOnFirstRequestMaskedAndDeactivatedOnLastFree) {
  IrqWorld w(1);
  auto& irqs = w.irqs;
  std::vector<std::string> calls;
  irq_chip chip;
  chip.irq_activate = [&](irq_desc&) { calls.push_back("activate"); };
  chip.irq_deactivate = [&](irq_desc&) { calls.push_back("deactivate"); };
  chip.irq_mask = [&](irq_desc&) { calls.push_back("mask"); };
  chip.irq_unmask = [&](irq_desc&) { calls.push_back("unmask"); };
  const unsigned irq = w.msi_irq();
  irqs.irq_set_chip_and_data(irq, &chip, nullptr);
  int a = 0, b = 0;
  sctest::run_in_thread([&] {
    ASSERT_EQ(irqs.request_irq(irq, count_handler, IRQF_SHARED, "a", &a), 0);
    ASSERT_EQ(irqs.request_irq(irq, count_handler, IRQF_SHARED, "b", &b), 0);
    EXPECT_EQ(irqs.request_irq(irq, count_handler, IRQF_SHARED, "b again", &b), -EBUSY);
    irqs.free_irq(irq, &a);
    irqs.free_irq(irq, &b);
  });
  EXPECT_EQ(calls, (std::vector<std::string>{"activate", "unmask", "mask", "deactivate"}));
}

TEST(IrqCore, HandlersRunOnlyWhileRequested) {
  IrqWorld w(2);
  auto& ic = w.ic;
  auto& irqs = w.irqs;
  int n = 0;
  const unsigned irq = w.msi_irq();
  sctest::run_in_thread([&] {
    send_msi(ic, irqs, irq);  // before the request: an earlier owner's
    sc_core::wait(10, sc_core::SC_NS);
    ASSERT_EQ(irqs.request_irq(irq, count_handler, 0, "t", &n), 0);
    send_msi(ic, irqs, irq);
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(n, 1);
    irqs.free_irq(irq, &n);
    send_msi(ic, irqs, irq);
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(n, 1);  // freed: nobody runs
    ASSERT_EQ(irqs.request_irq(irq, count_handler, 0, "t", &n), 0);
    send_msi(ic, irqs, irq);
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(n, 2);  // one flow, not a retired one as well
    irqs.free_irq(irq, &n);
  });
  EXPECT_EQ(irqs.kstat_irqs(irq), 2u);
  irqs.irq_free_descs(irq, 1);
  EXPECT_EQ(irqs.nr_allocated(), 0u);
  EXPECT_EQ(irqs.vectors().available(0) + irqs.vectors().available(1),
            VectorMatrix(2).available(0) + VectorMatrix(2).available(1));
}

TEST(IrqCore, EdgeMessagesDuringAPassMakeOneMorePass) {
  IrqWorld w(1);
  auto& ic = w.ic;
  auto& irqs = w.irqs;
  int passes = 0;
  const unsigned irq = w.msi_irq();
  auto slow = [&](int, void*) {
    ++passes;
    sc_core::wait(100, sc_core::SC_NS);  // a handler busy with MMIO
    return IRQ_HANDLED;
  };
  sctest::run_in_thread([&] {
    ASSERT_EQ(irqs.request_irq(irq, slow, 0, "slow", &passes), 0);
    send_msi(ic, irqs, irq);
    sc_core::wait(10, sc_core::SC_NS);
    send_msi(ic, irqs, irq);  // while the first pass runs
    send_msi(ic, irqs, irq);
    sc_core::wait(500, sc_core::SC_NS);
    EXPECT_EQ(passes, 2);
    irqs.free_irq(irq, &passes);
  });
}

TEST(IrqCore, SharedLevelLineRunsEveryActionWhileAsserted) {
  IrqWorld w(1);
  auto& ic = w.ic;
  auto& irqs = w.irqs;
  int a = 0, b = 0;
  auto claim_a = [&](int, void*) {
    ++a;
    ic.set_line(17, false, 0);  // device A masks itself: the line drops
    return IRQ_HANDLED;
  };
  auto not_b = [&](int, void*) {
    ++b;
    return IRQ_NONE;
  };
  sctest::run_in_thread([&] {
    ASSERT_EQ(irqs.request_irq(17, claim_a, IRQF_SHARED, "a", &a), 0);
    ASSERT_EQ(irqs.request_irq(17, not_b, IRQF_SHARED, "b", &b), 0);
    ic.set_line(17, true, 0);
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 1);
    irqs.free_irq(17, &a);
    irqs.free_irq(17, &b);
    ic.set_line(17, true, 0);
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(a, 1);  // no action: the asserted line runs nothing
  });
}

// synchronize_irq(): free_irq() from another thread returns only when a handler that is running
// has finished, so its owner may free what dev_id points at.
TEST(IrqCore, FreeIrqWaitsForARunningHandler) {
  IrqWorld w(1);
  const unsigned irq = w.msi_irq();
  bool in_handler = false;
  sc_core::sc_time freed_at, handler_done_at;
  auto slow = [&](int, void*) {
    in_handler = true;
    sc_core::wait(100, sc_core::SC_NS);
    handler_done_at = sc_core::sc_time_stamp();
    in_handler = false;
    return IRQ_HANDLED;
  };
  int owner = 0;
  sctest::run_in_thread([&] {
    ASSERT_EQ(w.irqs.request_irq(irq, slow, 0, "slow", &owner), 0);
    send_msi(w.ic, w.irqs, irq);
    sc_core::wait(10, sc_core::SC_NS);
    ASSERT_TRUE(in_handler);
    EXPECT_EQ(w.irqs.free_irq(irq, &owner), "slow");
    freed_at = sc_core::sc_time_stamp();
    EXPECT_FALSE(in_handler);
  });
  EXPECT_GE(freed_at, handler_done_at);
  EXPECT_GE(freed_at, sc_core::sc_time(100, sc_core::SC_NS));  // the handler began at 0
}
