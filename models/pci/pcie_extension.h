// Side-band attributes of a PCIe request, carried in a TLM-2.0 extension (never in address bits):
// the requester ID that selects the IOMMU context, the tag, the address type (AT) and PASID.
#pragma once

#include <cstdint>

#include <tlm>

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

/// The platform's INTx routing ("firmware" _PRT): the pin swizzled at every bridge on the way up
/// (pin' = (pin - 1 + slot) % 4 + 1, pci_swizzle_interrupt_pin), then line 16 + (slot + pin - 1)
/// % 4 for the device on the root bus. The kernel's pci_assign_irq() computes the same.
constexpr unsigned kIntxFirstLine = 16;
inline unsigned intx_line(uint8_t root_slot, unsigned pin) { return kIntxFirstLine + (root_slot + pin - 1) % 4; }
inline unsigned swizzle_pin(uint8_t slot, unsigned pin) { return (pin - 1 + slot) % 4 + 1; }

inline uint16_t make_rid(uint8_t bus, uint8_t devfn) { return static_cast<uint16_t>((bus << 8) | devfn); }
inline uint8_t devfn_of(uint8_t device, uint8_t function) { return static_cast<uint8_t>((device << 3) | function); }

}  // namespace vfiosim::pci
