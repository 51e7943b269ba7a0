#include "models/cpu/interrupt_controller.h"

#include "sim/base/clock.h"

namespace vfiosim {

InterruptController::InterruptController(stats::Group& parent)
    : stats_(parent.child("irq")),
      messages_(stats_.counter("msi_messages", "messages", "MSI/MSI-X messages received")),
      intx_messages_(stats_.counter("intx_messages", "messages", "Assert_INTx and Deassert_INTx messages received")) {}

InterruptController::Line& InterruptController::line(unsigned gsi) {
  auto& l = lines_[gsi];
  if (!l.event) l.event = std::make_unique<sc_core::sc_event>(sc_core::sc_gen_unique_name("irq_line"));
  return l;
}

void InterruptController::set_line(unsigned gsi, bool assert, uint64_t arrival_ps) {
  ++intx_messages_;
  line(gsi);
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const uint64_t delay = arrival_ps > now ? arrival_ps - now : 0;
  sc_core::sc_spawn(
      [this, gsi, assert, delay] {
        if (delay) sc_core::wait(ClockDomain::to_time(delay));
        Line& l = line(gsi);
        if (assert) ++l.asserted;
        else if (l.asserted) --l.asserted;
        l.event->notify(sc_core::SC_ZERO_TIME);
      },
      sc_core::sc_gen_unique_name("intx_arrival"));
}

unsigned InterruptController::level(unsigned gsi) const {
  auto it = lines_.find(gsi);
  return it == lines_.end() ? 0 : it->second.asserted;
}

sc_core::sc_event& InterruptController::line_event(unsigned gsi) { return *line(gsi).event; }

InterruptController::Vector& InterruptController::vec(uint32_t v) {
  auto& slot = vectors_[v];
  if (!slot.event) slot.event = std::make_unique<sc_core::sc_event>(sc_core::sc_gen_unique_name("msi_vector"));
  return slot;
}

void InterruptController::deliver(uint16_t, uint64_t address, uint32_t data, uint64_t arrival_ps) {
  ++messages_;
  const uint32_t key = msi_key(static_cast<unsigned>(address >> 12), data);
  vec(key);
  // The count moves when the message arrives: notify a helper at arrival time.
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const uint64_t delay = arrival_ps > now ? arrival_ps - now : 0;
  sc_core::sc_spawn(
      [this, key, delay] {
        if (delay) sc_core::wait(ClockDomain::to_time(delay));
        Vector& target = vec(key);
        ++target.fired;
        target.event->notify(sc_core::SC_ZERO_TIME);
      },
      sc_core::sc_gen_unique_name("msi_arrival"));
}

sc_core::sc_event& InterruptController::event(uint32_t vector) { return *vec(vector).event; }

uint64_t InterruptController::count(uint32_t vector) const {
  auto it = vectors_.find(vector);
  return it == vectors_.end() ? 0 : it->second.fired;
}

uint64_t InterruptController::wait_for(uint32_t vector, uint64_t seen) {
  Vector& v = vec(vector);
  while (v.fired <= seen) sc_core::wait(*v.event);
  return v.fired;
}

}  // namespace vfiosim
