// request_threaded_irq(), free_irq() and the start-up and shut-down of an irq
// (kernel/irq/manage.c and chip.c, v6.1).
#include <cerrno>

#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

// irq_startup(): activate (the chip writes the message) unless already active, then unmask.
void IrqCore::irq_startup(irq_desc& d) {
  irq_domain_activate_irq(d.irq);
  if (d.chip && d.chip->irq_unmask) d.chip->irq_unmask(d);
}

// irq_shutdown_and_deactivate()
void IrqCore::irq_shutdown_and_deactivate(irq_desc& d) {
  if (d.chip && d.chip->irq_mask) d.chip->irq_mask(d);
  irq_domain_deactivate_irq(d.irq);
}

void IrqCore::irq_domain_activate_irq(unsigned irq) {
  irq_desc* d = irq_to_desc(irq);
  if (!d || d->activated) return;
  if (d->chip && d->chip->irq_activate) d->chip->irq_activate(*d);
  d->activated = true;
}

void IrqCore::irq_domain_deactivate_irq(unsigned irq) {
  irq_desc* d = irq_to_desc(irq);
  if (!d || !d->activated) return;
  if (d->chip && d->chip->irq_deactivate) d->chip->irq_deactivate(*d);
  d->activated = false;
}

// request_threaded_irq() and __setup_irq(), in the kernel's order of checks.
int IrqCore::request_threaded_irq(unsigned irq, irq_handler_t handler, irq_handler_t thread_fn, unsigned long flags,
                                  std::string name, void* dev_id) {
  if ((flags & IRQF_SHARED) && !dev_id) return -EINVAL;
  irq_desc* d = irq ? irq_to_desc(irq) : nullptr;  // irq 0 is the timer's: never requestable
  if (!d) return -EINVAL;
  if (!handler) {
    if (!thread_fn) return -EINVAL;
    // irq_default_primary_handler: a threaded-only irq must keep its line masked (ONESHOT).
    if (!(flags & IRQF_ONESHOT)) return -EINVAL;
    handler = [](int, void*) { return IRQ_WAKE_THREAD; };
  }
  if (!d->action.empty()) {
    const irqaction& old = d->action.front();
    if (!(old.flags & flags & IRQF_SHARED)) return -EBUSY;  // mismatch
    if ((old.flags ^ flags) & IRQF_ONESHOT) return -EBUSY;
    for (const auto& a : d->action)
      if (a.dev_id == dev_id) return -EBUSY;  // the same dev_id twice: free_irq could not tell them apart
  }
  const bool first = d->action.empty();
  d->action.push_back({std::move(handler), std::move(thread_fn), flags, std::move(name), dev_id});
  if (first) {
    const uint64_t gen = ++d->generation;
    // Messages from before the request belong to an earlier owner of the vector.
    const uint64_t seen = d->source.level ? 0 : d->source.count();
    irq_startup(*d);
    if (d->source.level)
      d->flow = sc_core::sc_spawn([this, irq, gen] { flow_level(irq, gen); }, sc_core::sc_gen_unique_name("irq_flow"));
    else
      d->flow = sc_core::sc_spawn([this, irq, gen, seen] { flow_edge(irq, gen, seen); },
                                  sc_core::sc_gen_unique_name("irq_flow"));
  }
  return 0;
}

// free_irq() -> __free_irq(): the last action shuts the irq down and retires its flow thread.
std::string IrqCore::free_irq(unsigned irq, void* dev_id) {
  irq_desc* d = irq_to_desc(irq);
  if (!d) return "";
  for (auto it = d->action.begin(); it != d->action.end(); ++it) {
    if (it->dev_id != dev_id) continue;
    std::string name = std::move(it->name);
    d->action.erase(it);
    if (d->action.empty()) {
      irq_shutdown_and_deactivate(*d);
      ++d->generation;
      d->wake->notify(sc_core::SC_ZERO_TIME);
    }
    // synchronize_irq(): a handler still running (on its own flow thread, not this one) may be
    // touching dev_id; wait until the pass is over.
    const sc_core::sc_process_handle self = sc_core::sc_get_current_process_handle();
    if (self.valid() && self.proc_kind() == sc_core::SC_THREAD_PROC_ && !(self == d->flow))
      while (d->in_progress) sc_core::wait(*d->idle);
    return name;
  }
  kernel_warn("WARNING", "Trying to free already-free IRQ " + std::to_string(irq));
  return "";
}

}  // namespace vfiosim::kernel
