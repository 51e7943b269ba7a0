// Irq descriptors (kernel/irq/irqdesc.c, v6.1): the GSIs exist from boot (irq == GSI, a
// level-triggered IOAPIC line), dynamic irqs are allocated above them. A freed descriptor is kept
// for reuse, never destroyed: a flow thread that saw its irq freed may still be waiting on its
// events.
#include "vfio/linux/kernel/irq/irqdesc.h"

#include <cerrno>

#include "models/cpu/interrupt_controller.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

IrqCore::IrqCore(InterruptController& ic, unsigned nr_cpus) : ic_(ic), matrix_(nr_cpus) {}

irq_desc& IrqCore::new_desc(unsigned irq) {
  auto& slot = descs_[irq];
  if (!slot) {
    slot = std::make_unique<irq_desc>();
    slot->wake = std::make_unique<sc_core::sc_event>(sc_core::sc_gen_unique_name("irq_wake"));
    slot->idle = std::make_unique<sc_core::sc_event>(sc_core::sc_gen_unique_name("irq_idle"));
  }
  slot->irq = irq;
  return *slot;
}

// The IOAPIC pins: a GSI's descriptor is made on first use (x86 sets them up at boot).
irq_desc& IrqCore::gsi_desc(unsigned gsi) {
  auto it = descs_.find(gsi);
  if (it != descs_.end()) return *it->second;
  irq_desc& d = new_desc(gsi);
  d.source.level = true;
  d.source.event = [this, gsi]() -> sc_core::sc_event& { return ic_.line_event(gsi); };
  d.source.asserted = [this, gsi] { return ic_.level(gsi); };
  return d;
}

irq_desc* IrqCore::irq_to_desc(unsigned irq) {
  if (irq < NR_IRQS_GSI) return &gsi_desc(irq);
  auto it = descs_.find(irq);
  return it == descs_.end() || !it->second->source.event ? nullptr : it->second.get();
}

// irq_find_free_area(): the lowest run of `cnt` free numbers above the GSIs.
unsigned IrqCore::next_free_irq(unsigned cnt) const {
  unsigned from = NR_IRQS_GSI;
  for (;;) {
    unsigned n = 0;
    while (n < cnt) {
      auto it = descs_.find(from + n);
      if (it != descs_.end() && it->second->source.event) break;
      ++n;
    }
    if (n == cnt) return from;
    from += n + 1;
  }
}

int IrqCore::irq_alloc_vectors(unsigned nvec, bool block) {
  if (!nvec) return -EINVAL;
  std::vector<apic_vector> got;
  if (block) {
    apic_vector v;
    if (int ret = matrix_.alloc(nvec, v)) return ret;
    for (unsigned i = 0; i < nvec; ++i) got.push_back({v.cpu, v.vector + i});
  } else {
    for (unsigned i = 0; i < nvec; ++i) {
      apic_vector v;
      if (int ret = matrix_.alloc(1, v)) {
        for (const auto& g : got) matrix_.free(g, 1);
        return ret;
      }
      got.push_back(v);
    }
  }
  const unsigned first = next_free_irq(nvec);
  for (unsigned i = 0; i < nvec; ++i) {
    irq_desc& d = new_desc(first + i);
    d.vector = got[i];
    d.vector_block = block ? (i == 0 ? nvec : 0) : 1;
    const uint32_t key = InterruptController::msi_key(d.vector.cpu, d.vector.vector);
    d.source.level = false;
    d.source.event = [this, key]() -> sc_core::sc_event& { return ic_.event(key); };
    d.source.count = [this, key] { return ic_.count(key); };
    d.source.asserted = nullptr;
  }
  return static_cast<int>(first);
}

int IrqCore::irq_alloc_desc(irq_source source) {
  if (!source.event) return -EINVAL;
  const unsigned irq = next_free_irq(1);
  irq_desc& d = new_desc(irq);
  d.source = std::move(source);
  d.vector_block = 0;
  return static_cast<int>(irq);
}

void IrqCore::irq_free_descs(unsigned from, unsigned cnt) {
  for (unsigned irq = from; irq < from + cnt; ++irq) {
    if (irq < NR_IRQS_GSI) continue;
    auto it = descs_.find(irq);
    if (it == descs_.end() || !it->second->source.event) continue;
    irq_desc& d = *it->second;
    if (!d.action.empty()) kernel_warn("WARNING", "irq_free_descs: irq " + std::to_string(irq) + " still has actions");
    d.action.clear();
    ++d.generation;
    d.wake->notify(sc_core::SC_ZERO_TIME);
    if (d.vector_block) matrix_.free(d.vector, d.vector_block);
    d.source = irq_source{};
    d.chip = nullptr;
    d.chip_data = nullptr;
    d.activated = false;
    d.vector_block = 0;
  }
}

void IrqCore::irq_set_chip_and_data(unsigned irq, const irq_chip* chip, void* data) {
  if (irq_desc* d = irq_to_desc(irq)) {
    d->chip = chip;
    d->chip_data = data;
  }
}

void IrqCore::compose_msi_msg(unsigned irq, uint64_t& address, uint32_t& data) const {
  auto it = descs_.find(irq);
  const apic_vector v = it == descs_.end() ? apic_vector{} : it->second->vector;
  address = x86_msi_address(v);
  data = x86_msi_data(v);
}

uint64_t IrqCore::kstat_irqs(unsigned irq) const {
  auto it = descs_.find(irq);
  return it == descs_.end() ? 0 : it->second->kstat_irqs;
}

size_t IrqCore::nr_allocated() const {
  size_t n = 0;
  for (const auto& [irq, d] : descs_) n += irq >= NR_IRQS_GSI && d->source.event;
  return n;
}

size_t IrqCore::nr_requested() const {
  size_t n = 0;
  for (const auto& [irq, d] : descs_) n += !d->action.empty();
  return n;
}

}  // namespace vfiosim::kernel
