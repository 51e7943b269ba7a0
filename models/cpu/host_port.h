// The CPU's load/store port into the I/O fabric: uncached MMIO and ECAM accesses that kernel code
// (running in a SystemC thread) issues. Each access blocks the calling thread for its round trip;
// writes are posted only as far as the root complex lets them be (it answers when they land).
#pragma once

#include <cstdint>

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

 private:
  void access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len);

  stats::Group& stats_;
  stats::Counter& reads_;
  stats::Counter& writes_;
  stats::Histogram& latency_;
};

}  // namespace vfiosim
