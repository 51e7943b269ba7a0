// The kernel's generic interrupt layer (kernel/irq/{irqdesc,manage,chip}.c, v6.1, reduced): Linux
// irq numbers with their descriptors, request_irq()/request_threaded_irq()/free_irq(), and the
// flow that runs an irq's actions in simulated time while, and only while, something has it
// requested. An irq's hardware side is a source (what fires) and a chip (how the kernel programs,
// masks and unmasks it):
// - MSI and MSI-X vectors from the x86 vector domain (irq_alloc_vectors), edge-triggered: each
//   message runs the actions once, and messages that arrive while they run make one more run
//   (handle_edge_irq's IRQS_PENDING);
// - IOAPIC lines for INTx, level-triggered, irq == GSI as on x86 (handle_level_irq: the actions
//   run while the line is asserted and again each time its level changes);
// - any other edge source a platform wires in (irq_alloc_desc), such as an s390 I/O interruption.
// The first request activates the irq (the chip writes its message) and unmasks it; the last
// free_irq masks and deactivates it and ends its flow thread (irq_shutdown_and_deactivate).
//
// Not modelled: affinity and migration, disable_irq()/enable_irq() depth, spurious-irq detection,
// per-CPU irqs, IRQF_ONESHOT masking (a thread_fn runs right after its primary handler, in the
// irq's flow thread, as if the irq thread were always runnable at once).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "vfio/linux/arch/x86/kernel/apic/vector.h"

namespace vfiosim {
class InterruptController;
}

namespace vfiosim::kernel {

enum irqreturn_t { IRQ_NONE = 0, IRQ_HANDLED = 1, IRQ_WAKE_THREAD = 2 };

constexpr unsigned long IRQF_SHARED = 0x00000080;
constexpr unsigned long IRQF_ONESHOT = 0x00002000;
constexpr unsigned long IRQF_NO_THREAD = 0x00010000;

/// Dynamic irq numbers start above the IOAPIC's GSIs (x86's gsi_top for one 24-pin IOAPIC).
constexpr unsigned NR_IRQS_GSI = 24;

using irq_handler_t = std::function<irqreturn_t(int irq, void* dev_id)>;

struct irq_desc;

/// What the flow needs of the hardware behind an irq (struct irq_chip plus the irq domain's
/// activate/deactivate); any member may be empty.
struct irq_chip {
  std::string name;
  std::function<void(irq_desc&)> irq_activate;    // irq_domain_activate_irq(): program the message
  std::function<void(irq_desc&)> irq_deactivate;  // irq_domain_deactivate_irq()
  std::function<void(irq_desc&)> irq_mask;
  std::function<void(irq_desc&)> irq_unmask;
};

/// The hardware event an irq follows: an edge source counts messages; a level source has a level.
struct irq_source {
  bool level = false;
  std::function<sc_core::sc_event&()> event;
  std::function<uint64_t()> count;     // edge: messages so far
  std::function<unsigned()> asserted;  // level: sources asserting the line now
};

struct irqaction {
  irq_handler_t handler;
  irq_handler_t thread_fn;
  unsigned long flags = 0;
  std::string name;
  void* dev_id = nullptr;
};

struct irq_desc {
  unsigned irq = 0;
  irq_source source;
  const irq_chip* chip = nullptr;
  void* chip_data = nullptr;  // the chip's own (an msi_desc for PCI MSI)
  apic_vector vector;         // MSI irqs: where the message goes
  unsigned vector_block = 0;  // the first irq of a multi-vector block owns the block (its size)
  std::vector<irqaction> action;
  bool activated = false;
  uint64_t kstat_irqs = 0;      // actions run (one per flow pass)
  uint64_t irqs_unhandled = 0;  // passes no action claimed
  // The flow thread: runs while the irq has actions; `generation` retires a thread whose irq was
  // freed (and maybe requested again) while it waited.
  std::unique_ptr<sc_core::sc_event> wake;
  uint64_t generation = 0;
  // IRQS_INPROGRESS: the flow thread is inside the actions; free_irq() waits for it to leave
  // (synchronize_irq), so no handler runs on a dev_id its owner has freed.
  bool in_progress = false;
  std::unique_ptr<sc_core::sc_event> idle;  // notified when a pass ends
  sc_core::sc_process_handle flow;
};

class IrqCore {
 public:
  IrqCore(InterruptController& ic, unsigned nr_cpus);

  /// irq_domain_alloc_irqs() on the vector domain: `nvec` irqs (a power of two when `block`: one
  /// aligned block of consecutive vectors, for multi-message MSI), each with a vector; the first
  /// irq, or -ENOSPC.
  int irq_alloc_vectors(unsigned nvec, bool block);
  /// irq_alloc_desc(): an irq for another edge source; the irq.
  int irq_alloc_desc(irq_source source);
  /// irq_free_descs(): the irqs must have no actions left (their users freed them first).
  void irq_free_descs(unsigned from, unsigned cnt);
  irq_desc* irq_to_desc(unsigned irq);
  void irq_set_chip_and_data(unsigned irq, const irq_chip* chip, void* data);

  /// request_threaded_irq(): 0; -EINVAL for no irq, no handler or a shared request without a
  /// dev_id; -EBUSY when the irq has an action and either side is not IRQF_SHARED.
  int request_threaded_irq(unsigned irq, irq_handler_t handler, irq_handler_t thread_fn, unsigned long flags,
                           std::string name, void* dev_id);
  int request_irq(unsigned irq, irq_handler_t handler, unsigned long flags, std::string name, void* dev_id) {
    return request_threaded_irq(irq, std::move(handler), nullptr, flags, std::move(name), dev_id);
  }
  /// free_irq(): the action's name, or "" (the kernel WARNs) when `dev_id` has none on `irq`.
  std::string free_irq(unsigned irq, void* dev_id);

  /// irq_domain_activate_irq() / irq_domain_deactivate_irq(): the chip writes (or clears) the
  /// message; the MSI layer activates at allocation, as v6.1's MSI_FLAG_ACTIVATE_EARLY does.
  void irq_domain_activate_irq(unsigned irq);
  void irq_domain_deactivate_irq(unsigned irq);

  /// irq_chip_compose_msi_msg(): the x86 message of an MSI irq.
  void compose_msi_msg(unsigned irq, uint64_t& address, uint32_t& data) const;
  uint64_t kstat_irqs(unsigned irq) const;
  /// Irqs allocated beyond the GSIs, and irqs with actions: for leak checks.
  size_t nr_allocated() const;
  size_t nr_requested() const;
  VectorMatrix& vectors() { return matrix_; }

 private:
  irq_desc& gsi_desc(unsigned gsi);
  irq_desc& new_desc(unsigned irq);
  unsigned next_free_irq(unsigned cnt) const;
  void irq_startup(irq_desc& d);
  void irq_shutdown_and_deactivate(irq_desc& d);
  void flow_edge(unsigned irq, uint64_t generation, uint64_t seen);
  void flow_level(unsigned irq, uint64_t generation);
  bool handle_irq_event(irq_desc& d);

  InterruptController& ic_;
  VectorMatrix matrix_;
  std::map<unsigned, std::unique_ptr<irq_desc>> descs_;
};

}  // namespace vfiosim::kernel
