#include "models/cpu/host_port.h"

#include <stdexcept>

#include "sim/base/tlm_util.h"

namespace vfiosim {

HostPort::HostPort(const sc_core::sc_module_name& name, stats::Group& parent)
    : sc_module(name),
      socket("socket"),
      stats_(parent.child(basename())),
      reads_(stats_.counter("mmio_reads", "accesses", "Uncached reads (MMIO and config)")),
      writes_(stats_.counter("mmio_writes", "accesses", "Uncached writes (MMIO and config)")),
      latency_(stats_.histogram("mmio_latency", "ns", "Round trip of an uncached access", 1e-3)) {}

void HostPort::access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len) {
  tlm::tlm_generic_payload t;
  setup_payload(t, cmd, addr, data, len);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(t, delay);
  latency_.sample(delay.value());
  sc_core::wait(delay);
  if (t.get_response_status() != tlm::TLM_OK_RESPONSE)
    throw std::runtime_error("host access to 0x" + std::to_string(addr) + " failed");
}

uint64_t HostPort::read(uint64_t addr, unsigned len) {
  uint64_t v = 0;
  ++reads_;
  access(tlm::TLM_READ_COMMAND, addr, reinterpret_cast<uint8_t*>(&v), len);
  return v;
}

void HostPort::write(uint64_t addr, unsigned len, uint64_t value) {
  ++writes_;
  access(tlm::TLM_WRITE_COMMAND, addr, reinterpret_cast<uint8_t*>(&value), len);
}

}  // namespace vfiosim
