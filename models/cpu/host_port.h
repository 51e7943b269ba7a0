// The CPU's load/store port into the machine: uncached MMIO and ECAM accesses that kernel code
// (running in a SystemC thread) issues, and its accesses to host memory (page tables, queues,
// status words). Uncached accesses block the calling thread for their round trip; writes are
// posted only as far as the target lets them be (it answers when they land). Memory stores are
// posted: the transaction reaches memory with its timing (it takes the memory bus) but the thread
// goes on at once, as after a store into the write-back cache; the kernel charges the store's CPU
// cost itself. Memory loads block for the memory's round trip.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "sim/stats/group.h"

namespace vfiosim {

class HostPort : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<HostPort> socket;

  HostPort(const sc_core::sc_module_name& name, stats::Group& parent);

  uint64_t read(uint64_t addr, unsigned len);
  void write(uint64_t addr, unsigned len, uint64_t value);

  /// A load of `len` bytes of host memory; blocks for its round trip. False on a memory error.
  bool mem_read(uint64_t addr, void* dst, unsigned len);
  /// A posted store of `len` bytes to host memory. False on a memory error.
  bool mem_write(uint64_t addr, const void* src, unsigned len);
  /// A cacheable load of memory this CPU stored to before (its own page tables): served from the
  /// CPU's cache without a memory transaction (the caller's cost table charges the hit). Lines
  /// the CPU never stored are loaded from memory like mem_read. Only for memory no device writes.
  bool cached_load(uint64_t addr, void* dst, unsigned len);

 private:
  void access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len);

  stats::Group& stats_;
  stats::Counter& reads_;
  stats::Counter& writes_;
  stats::Histogram& latency_;
  stats::Counter& mem_reads_;
  stats::Counter& mem_writes_;
  stats::Counter& mem_bytes_written_;
  stats::Counter& cache_hits_;
  // Write-allocate shadow of the 4 KiB pages this CPU stored to: its cache, never evicted.
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> cached_;
};

}  // namespace vfiosim
