#include "models/memory/memory.h"

namespace vfiosim {

Memory::Memory(const sc_core::sc_module_name& name, const MemoryParams& params, stats::Group& parent)
    : sc_module(name),
      port("port"),
      params_(params),
      clock_(std::string(this->name()) + ".clk", params.clock_mhz * 1000000ULL),
      store_(params.size),
      stats_(parent.child(basename())),
      reads_(stats_.counter("reads", "requests", "Read requests served")),
      writes_(stats_.counter("writes", "requests", "Write requests served")),
      bytes_read_(stats_.counter("bytes_read", "bytes", "Bytes read")),
      bytes_written_(stats_.counter("bytes_written", "bytes", "Bytes written")),
      address_errors_(stats_.counter("address_errors", "requests", "Requests outside the address space")),
      queue_delay_(stats_.histogram("queue_delay", "ns", "Time a request waited for the data bus", 1e-3)),
      utilisation_(stats_.gauge("bus_utilisation", "ratio", "Fraction of simulated time the data bus was busy")),
      pages_touched_(stats_.gauge("pages_touched", "4KiB pages", "Host pages backing written memory")) {
  port.register_b_transport(this, &Memory::b_transport);
  port.register_transport_dbg(this, &Memory::transport_dbg);
}

bool Memory::move_data(tlm::tlm_generic_payload& trans) {
  const uint64_t addr = trans.get_address();
  const uint64_t len = trans.get_data_length();
  if (trans.get_byte_enable_ptr() || trans.get_streaming_width() < len) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  bool ok = false;
  if (trans.is_read()) ok = store_.read(addr, trans.get_data_ptr(), len);
  else if (trans.is_write()) ok = store_.write(addr, trans.get_data_ptr(), len);
  else ok = store_.contains(addr, len);  // TLM_IGNORE_COMMAND: a probe
  trans.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
  return ok;
}

void Memory::b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t len = trans.get_data_length();
  const uint64_t arrive_ps = ClockDomain::to_ps(sc_core::sc_time_stamp() + delay);
  const uint64_t arrive = clock_.cycle_at_or_after(arrive_ps);

  if (!move_data(trans)) {
    // The error response takes the same command latency but no data-bus slot.
    ++address_errors_;
    delay = clock_.time_of(arrive + params_.latency_cycles) - sc_core::sc_time_stamp();
    return;
  }
  const uint64_t beats = (len + params_.bytes_per_cycle - 1) / params_.bytes_per_cycle;
  const uint64_t start = bus_.reserve(arrive, beats ? beats : 1, clock_.cycle_at_or_after(sc_core::sc_time_stamp()));
  const uint64_t done = start + (beats ? beats : 1) + params_.latency_cycles;
  queue_delay_.sample(clock_.ps_of(start) - clock_.ps_of(arrive));
  if (trans.is_read()) {
    ++reads_;
    bytes_read_ += len;
  } else if (trans.is_write()) {
    ++writes_;
    bytes_written_ += len;
  }
  delay = clock_.time_of(done) - sc_core::sc_time_stamp();
}

unsigned Memory::transport_dbg(int, tlm::tlm_generic_payload& trans) {
  return move_data(trans) ? static_cast<unsigned>(trans.get_data_length()) : 0;
}

void Memory::finalize(const sc_core::sc_time& end) {
  const uint64_t end_cycles = clock_.cycle_at_or_after(end);
  utilisation_.set(end_cycles ? static_cast<double>(std::min(bus_.busy_cycles(), end_cycles)) /
                                    static_cast<double>(end_cycles)
                              : 0.0);
  pages_touched_.set(static_cast<double>(store_.pages_allocated()));
}

}  // namespace vfiosim
