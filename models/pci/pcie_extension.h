// Side-band attributes of a PCIe request, carried in a TLM-2.0 extension (never in address bits):
// the requester ID that selects the IOMMU context, the tag, the address type (AT) and PASID.
#pragma once

#include <cstdint>

#include <tlm>

#include "models/pci/intx_routing.h"

namespace vfiosim::pci {

enum class AddressType : uint8_t { Untranslated = 0, TranslationRequest = 1, Translated = 2 };

struct PcieExtension : tlm::tlm_extension<PcieExtension> {
  uint16_t rid = 0;  // bus[15:8] | device[7:3] | function[2:0]
  uint16_t tag = 0;
  AddressType at = AddressType::Untranslated;
  bool has_pasid = false;
  uint32_t pasid = 0;
  bool is_msi = false;
  uint64_t trace_id = 0;  // the DMA request's async slice in trace.json (0: none)

  tlm::tlm_extension_base* clone() const override { return new PcieExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const PcieExtension&>(other);
  }
};

/// The INTx pin as seen above a bridge (the standard swizzle, pin' = (pin - 1 + slot) % 4 + 1); the
/// routing at the root bus is firmware data (intx_routing.h).
inline unsigned swizzle_pin(uint8_t slot, unsigned pin) { return (pin - 1 + slot) % 4 + 1; }

inline uint16_t make_rid(uint8_t bus, uint8_t devfn) { return static_cast<uint16_t>((bus << 8) | devfn); }
inline uint8_t devfn_of(uint8_t device, uint8_t function) { return static_cast<uint8_t>((device << 3) | function); }

}  // namespace vfiosim::pci
