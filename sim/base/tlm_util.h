// Small helpers for TLM-2.0 generic payloads shared by initiators.
#pragma once

#include <cstdint>

#include <tlm>

namespace vfiosim {

/// Prepares `t` for a plain read or write of `len` bytes at `addr` (no byte enables, no DMI).
inline void setup_payload(tlm::tlm_generic_payload& t, tlm::tlm_command cmd, uint64_t addr, uint8_t* data,
                          unsigned len) {
  t.set_command(cmd);
  t.set_address(addr);
  t.set_data_ptr(data);
  t.set_data_length(len);
  t.set_streaming_width(len);
  t.set_byte_enable_ptr(nullptr);
  t.set_dmi_allowed(false);
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

}  // namespace vfiosim
