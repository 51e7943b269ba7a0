// The x86 vector domain (arch/x86/kernel/apic/vector.c and kernel/irq/matrix.c, v6.1, reduced):
// each CPU's local APIC has 256 vectors; device interrupts get one from [FIRST_EXTERNAL_VECTOR,
// FIRST_SYSTEM_VECTOR) on the CPU with the most free vectors (irq_matrix_alloc), never the
// system-call gate 0x80 nor CPU 0's ISA vectors 0x30-0x3F. An MSI message addresses the CPU's
// APIC ID in its address (bits 19:12) and carries the vector in its data (bits 7:0).
//
// Not modelled: managed (per-queue) affinity, reservation mode, vector migration, CPU hotplug.
// Multi-message MSI gets an aligned block on one CPU, as interrupt remapping would allow; the
// kernel without remapping grants one vector (see PciMsi).
#pragma once

#include <cstdint>
#include <vector>

namespace vfiosim::kernel {

constexpr unsigned FIRST_EXTERNAL_VECTOR = 0x20;
constexpr unsigned FIRST_SYSTEM_VECTOR = 0xEC;
constexpr unsigned IA32_SYSCALL_VECTOR = 0x80;
constexpr unsigned ISA_IRQ_VECTOR_FIRST = 0x30, ISA_IRQ_VECTOR_LAST = 0x3F;

struct apic_vector {
  unsigned cpu = 0;
  unsigned vector = 0;
};

class VectorMatrix {
 public:
  explicit VectorMatrix(unsigned nr_cpus);
  /// irq_matrix_alloc(): a block of `count` (a power of two) consecutive vectors aligned to it, on
  /// the CPU with the most available; -ENOSPC when no CPU has such a block.
  int alloc(unsigned count, apic_vector& out);
  /// irq_matrix_free()
  void free(const apic_vector& v, unsigned count);
  unsigned available(unsigned cpu) const;
  unsigned nr_cpus() const { return static_cast<unsigned>(cpus_.size()); }

 private:
  struct Cpu {
    std::vector<bool> used = std::vector<bool>(256, false);
    unsigned allocated = 0;
    unsigned reserved = 0;
  };
  std::vector<Cpu> cpus_;
};

/// __irq_msi_compose_msg(): the x86 message for a vector on a CPU (APIC ID = CPU number).
uint64_t x86_msi_address(const apic_vector& v);
inline uint32_t x86_msi_data(const apic_vector& v) { return v.vector; }

}  // namespace vfiosim::kernel
