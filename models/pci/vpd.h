// Vital Product Data (PCI 3.0 §6.4, the VPD capability): 32-bit reads and writes of a small
// non-volatile store through an address register whose F flag hands the transfer between
// software and device. Writing the address with F = 0 asks for the dword there: after the store's
// access time the device fills the data register and sets F. Writing it with F = 1 stores the
// data register: after the access time the device clears F. Only the VPD-W section is writable;
// a write elsewhere completes without changing the store. The content is a VPD image: an
// identifier string, a read-only section (VPD-R) and a read-write one (VPD-W), then the end tag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>

#include "models/pci/config_space.h"

namespace vfiosim::pci {

class Vpd {
 public:
  /// `cap` is the VPD capability's offset in `cfg`; `access_ps` the store's time per dword.
  Vpd(ConfigSpace& cfg, uint16_t cap, const std::string& identifier, uint64_t access_ps);
  /// A config write touched the capability: start a transfer when the address register changed.
  void on_config_write(uint32_t offset, unsigned len);
  /// Runs when the pending transfer is done (the owner's method process calls it on `done()`).
  void complete();
  sc_core::sc_event& done() { return done_; }
  const std::vector<uint8_t>& image() const { return image_; }
  /// The writable section [start, end).
  uint32_t rw_start() const { return rw_start_; }
  uint32_t rw_end() const { return rw_end_; }

 private:
  ConfigSpace& cfg_;
  uint16_t cap_;
  uint64_t access_ps_;
  std::vector<uint8_t> image_;
  uint32_t rw_start_ = 0, rw_end_ = 0;
  bool busy_ = false;
  bool write_ = false;
  uint32_t addr_ = 0;
  sc_core::sc_event done_;
};

}  // namespace vfiosim::pci
