#include "vfio/linux/kernel/irq.h"

#include <cerrno>

#include <systemc>

namespace vfiosim::kernel {

int IrqLines::request_irq(unsigned irq, Handler handler, bool shared, const void* dev_id) {
  if (!irq || !handler) return -EINVAL;
  Line& l = lines_[irq];
  for (const auto& [id, action] : l.actions)
    if (!shared || !action.second) return -EBUSY;  // __setup_irq(): both must agree to share
  l.actions[dev_id] = {std::move(handler), shared};
  if (!l.flow_running) {
    l.flow_running = true;
    sc_core::sc_spawn([this, irq] { flow(irq); }, sc_core::sc_gen_unique_name("irq_flow"));
  }
  return 0;
}

void IrqLines::free_irq(unsigned irq, const void* dev_id) {
  auto it = lines_.find(irq);
  if (it != lines_.end()) it->second.actions.erase(dev_id);
}

uint64_t IrqLines::handled(unsigned irq) const {
  auto it = lines_.find(irq);
  return it == lines_.end() ? 0 : it->second.handled;
}

// handle_level_irq() as a loop: while the line is asserted run the actions (a handler masks its
// device, which deasserts the line a message later), then wait for the level to change.
void IrqLines::flow(unsigned irq) {
  for (;;) {
    while (!ic_.level(irq)) sc_core::wait(ic_.line_event(irq));
    {
      Line& l = lines_[irq];
      const auto actions = l.actions;  // a handler may free_irq; gone before the thread waits
      for (const auto& [id, action] : actions)
        if (action.first()) ++l.handled;
    }
    sc_core::wait(ic_.line_event(irq));  // (a thread blocked at the end of the run keeps its frame)
  }
}

}  // namespace vfiosim::kernel
