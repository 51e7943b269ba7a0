// Advanced Error Reporting as a function's hardware does it (spec A1.7, PCIe r5 §6.2): an
// uncorrectable error sets its bit in the Uncorrectable Error Status; unless masked, the first
// one also sets the First Error Pointer and captures the failing TLP's header in the Header Log,
// sets Device Status (Non-Fatal / Fatal Error Detected by the severity register), and — when
// Device Control enables reporting of that severity — sends ERR_NONFATAL / ERR_FATAL to the root
// port, which records it in its Root Error Status and Error Source Identification.
//
// The root complex sends the root port's MSI when Root Error Command enables what arrived
// (RootComplex::root_error_interrupt). Errors logged here: ACS violations (at the port) and
// posted writes a function completes as Unsupported Request.
// Not modelled: correctable and advisory non-fatal errors (ERR_COR), ECRC, TLP prefix logs,
// multiple header recording.
#pragma once

#include <array>
#include <cstdint>

#include "models/pci/function.h"
#include "models/pci/tlp.h"

namespace vfiosim::pci {

/// The 4-DW header of a memory request as the Header Log holds it.
std::array<uint32_t, 4> tlp_header_log(TlpType type, uint64_t address, uint32_t length, uint16_t rid, uint8_t tag);

/// Logs uncorrectable error `bit` (PCI_ERR_UNC_*) detected by `fn` (AER capability at `aer`, 0:
/// none, only Device Status changes). `root` is the root port above (the message's receiver;
/// nullptr for an RC integrated endpoint), `source` the detecting function's requester ID.
/// Returns true when an error message went to the root port.
bool aer_report_uncorrectable(PciFunction& fn, uint16_t aer, uint32_t bit, const std::array<uint32_t, 4>& header,
                              PciBridge* root, uint16_t source);

}  // namespace vfiosim::pci
