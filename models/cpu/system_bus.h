// The host's address decoder between the CPU and everything it addresses: explicit ranges (the
// root complex's ECAM and MMIO windows, the IOMMU's register page) are checked in the order they
// were added, and everything else goes to the default target (host memory). Pure routing: it adds
// no time of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

namespace vfiosim {

class SystemBus : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<SystemBus> in;  // any number of initiators
  tlm_utils::multi_passthrough_initiator_socket<SystemBus> out;

  explicit SystemBus(const sc_core::sc_module_name& name);

  /// Routes [base, base + size) to the `index`-th binding of `out`.
  void map(uint64_t base, uint64_t size, unsigned index, std::string what);
  /// Where addresses outside every range go.
  void set_default(unsigned index) { default_ = index; }

 private:
  void transport(int from, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(int from, tlm::tlm_generic_payload& trans);
  unsigned route(uint64_t addr) const;

  struct Range {
    uint64_t base;
    uint64_t size;
    unsigned index;
    std::string what;
  };
  std::vector<Range> ranges_;
  unsigned default_ = 0;
};

}  // namespace vfiosim
