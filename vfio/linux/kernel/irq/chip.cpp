// The flow handlers (kernel/irq/chip.c and handle.c, v6.1) as one simulated thread per requested
// irq: handle_edge_irq for MSI and other edge sources, handle_level_irq for IOAPIC lines. A
// thread ends when its irq is freed (its generation moves on).
#include "vfio/linux/kernel/irq/irqdesc.h"

namespace vfiosim::kernel {

// handle_irq_event(): every action's primary handler, and its thread_fn when it asks for it.
bool IrqCore::handle_irq_event(irq_desc& d) {
  const unsigned irq = d.irq;
  const uint64_t gen = d.generation;
  const auto actions = d.action;  // a handler may free its irq
  bool handled = false;
  ++d.kstat_irqs;
  d.in_progress = true;
  for (const auto& a : actions) {
    irqreturn_t r = a.handler(static_cast<int>(irq), a.dev_id);
    if (r == IRQ_WAKE_THREAD) r = a.thread_fn ? a.thread_fn(static_cast<int>(irq), a.dev_id) : IRQ_NONE;
    handled |= r == IRQ_HANDLED;
    if (d.generation != gen) break;
  }
  if (!handled) ++d.irqs_unhandled;
  d.in_progress = false;
  d.idle->notify(sc_core::SC_ZERO_TIME);
  return handled;
}

// handle_edge_irq(): each new message runs the actions once; messages that arrive while they run
// are served by one more pass.
void IrqCore::flow_edge(unsigned irq, uint64_t gen, uint64_t seen) {
  irq_desc* d = irq_to_desc(irq);
  for (;;) {
    while (d->generation == gen && d->source.count() <= seen) sc_core::wait(d->source.event() | *d->wake);
    if (d->generation != gen) return;
    seen = d->source.count();
    handle_irq_event(*d);
  }
}

// handle_level_irq(): while the line is asserted run the actions (a handler masks its device,
// which deasserts the line a message later), then wait for the level to change.
void IrqCore::flow_level(unsigned irq, uint64_t gen) {
  irq_desc* d = irq_to_desc(irq);
  for (;;) {
    while (d->generation == gen && !d->source.asserted()) sc_core::wait(d->source.event() | *d->wake);
    if (d->generation != gen) return;
    handle_irq_event(*d);
    if (d->generation != gen) return;
    sc_core::wait(d->source.event() | *d->wake);
  }
}

}  // namespace vfiosim::kernel
