// SR-IOV as the hardware decodes it (spec A1.6): the PF's SR-IOV capability says whether VFs
// exist (VF Enable), whether their memory decodes (VF MSE), how many there are (NumVFs) and where
// VF n's routing ID and BARs are (First VF Offset / VF Stride; VF BAR i of VF n at the PF's VF
// BAR i + n * size). A VF answers config requests only while it exists; its own BAR registers and
// Memory Space Enable read 0.
//
// Not modelled: VF migration, function dependency links, VFs on a bus other than the PF's.
#pragma once

#include <cstdint>
#include <optional>

#include "models/pci/config_space.h"
#include "models/pci/decode.h"

namespace vfiosim::pci {

/// Reads of a PF's SR-IOV capability at `off`.
struct SriovView {
  const ConfigSpace& pf;
  uint16_t off;

  uint16_t control() const;
  bool vf_enabled() const;
  bool vf_memory_enabled() const;
  uint16_t num_vfs() const;
  uint16_t total_vfs() const;
  uint16_t first_vf_offset() const;
  uint16_t vf_stride() const;
  /// Where VF BAR region `index` starts (both dwords for a 64-bit VF BAR).
  uint64_t vf_bar_base(int index, const BarSpec& spec) const;
  /// VF `n` (0-based) exists: VF Enable set and n < NumVFs.
  bool vf_exists(unsigned n) const { return vf_enabled() && n < num_vfs(); }
};

/// The VF BAR of VF `n` that claims [addr, addr+len), if VF `n` exists and VF MSE is set.
std::optional<BarHit> decode_vf_bar(const SriovView& sriov, const BarSpecs& vf_bars, unsigned n, uint64_t addr,
                                    uint64_t len);

/// Routing-ID offset of VF `n` (0-based) from its PF.
inline unsigned vf_rid_offset(uint16_t first_offset, uint16_t stride, unsigned n) {
  return first_offset + n * stride;
}

}  // namespace vfiosim::pci
