#include "models/cpu/system_bus.h"

namespace vfiosim {

SystemBus::SystemBus(const sc_core::sc_module_name& name) : sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &SystemBus::transport);
  in.register_transport_dbg(this, &SystemBus::transport_dbg);
}

void SystemBus::map(uint64_t base, uint64_t size, unsigned index, std::string what) {
  ranges_.push_back({base, size, index, std::move(what)});
}

unsigned SystemBus::route(uint64_t addr) const {
  for (const auto& r : ranges_)
    if (addr >= r.base && addr - r.base < r.size) return r.index;
  return default_;
}

void SystemBus::transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const unsigned i = route(trans.get_address());
  if (i >= out.size()) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  out[i]->b_transport(trans, delay);
}

unsigned SystemBus::transport_dbg(int, tlm::tlm_generic_payload& trans) {
  const unsigned i = route(trans.get_address());
  return i < out.size() ? out[i]->transport_dbg(trans) : 0;
}

}  // namespace vfiosim
