#include "vfio/linux/arch/x86/kernel/apic/vector.h"

#include <cerrno>

#include "models/pci/msi_window.h"

namespace vfiosim::kernel {

VectorMatrix::VectorMatrix(unsigned nr_cpus) : cpus_(nr_cpus ? nr_cpus : 1) {
  for (unsigned c = 0; c < cpus_.size(); ++c) {
    Cpu& cpu = cpus_[c];
    auto reserve = [&cpu](unsigned v) {
      if (!cpu.used[v]) {
        cpu.used[v] = true;
        ++cpu.reserved;
      }
    };
    for (unsigned v = 0; v < FIRST_EXTERNAL_VECTOR; ++v) reserve(v);  // exceptions
    for (unsigned v = FIRST_SYSTEM_VECTOR; v < 256; ++v) reserve(v);  // APIC timer, IPIs, spurious
    reserve(IA32_SYSCALL_VECTOR);
    if (c == 0)
      for (unsigned v = ISA_IRQ_VECTOR_FIRST; v <= ISA_IRQ_VECTOR_LAST; ++v) reserve(v);  // legacy IRQs 0-15
  }
}

unsigned VectorMatrix::available(unsigned cpu) const {
  const Cpu& c = cpus_.at(cpu);
  return 256 - c.reserved - c.allocated;
}

// matrix_find_best_cpu() then matrix_alloc_area(): the CPU with the most available vectors
// (the lowest-numbered on a tie), the lowest free aligned block on it.
int VectorMatrix::alloc(unsigned count, apic_vector& out) {
  if (!count || (count & (count - 1)) || count > 32) return -EINVAL;
  std::vector<unsigned> order;
  for (unsigned c = 0; c < cpus_.size(); ++c) order.push_back(c);
  for (unsigned i = 1; i < order.size(); ++i)  // stable: most available first
    for (unsigned j = i; j > 0 && available(order[j]) > available(order[j - 1]); --j) std::swap(order[j], order[j - 1]);
  for (unsigned c : order) {
    Cpu& cpu = cpus_[c];
    for (unsigned base = (FIRST_EXTERNAL_VECTOR + count - 1) & ~(count - 1); base + count <= FIRST_SYSTEM_VECTOR;
         base += count) {
      bool free = true;
      for (unsigned v = base; v < base + count && free; ++v) free = !cpu.used[v];
      if (!free) continue;
      for (unsigned v = base; v < base + count; ++v) cpu.used[v] = true;
      cpu.allocated += count;
      out = {c, base};
      return 0;
    }
  }
  return -ENOSPC;
}

void VectorMatrix::free(const apic_vector& v, unsigned count) {
  if (v.cpu >= cpus_.size()) return;
  Cpu& cpu = cpus_[v.cpu];
  for (unsigned i = v.vector; i < v.vector + count && i < 256; ++i)
    if (cpu.used[i]) {
      cpu.used[i] = false;
      --cpu.allocated;
    }
}

uint64_t x86_msi_address(const apic_vector& v) { return pci::kMsiBase | (uint64_t{v.cpu & 0xFF} << 12); }

}  // namespace vfiosim::kernel
