#include "models/pci/sriov.h"

#include <linux/pci_regs.h>

namespace vfiosim::pci {

uint16_t SriovView::control() const { return static_cast<uint16_t>(pf.get(off + PCI_SRIOV_CTRL, 2)); }
bool SriovView::vf_enabled() const { return control() & PCI_SRIOV_CTRL_VFE; }
bool SriovView::vf_memory_enabled() const { return control() & PCI_SRIOV_CTRL_MSE; }
uint16_t SriovView::num_vfs() const { return static_cast<uint16_t>(pf.get(off + PCI_SRIOV_NUM_VF, 2)); }
uint16_t SriovView::total_vfs() const { return static_cast<uint16_t>(pf.get(off + PCI_SRIOV_TOTAL_VF, 2)); }
uint16_t SriovView::first_vf_offset() const { return static_cast<uint16_t>(pf.get(off + PCI_SRIOV_VF_OFFSET, 2)); }
uint16_t SriovView::vf_stride() const { return static_cast<uint16_t>(pf.get(off + PCI_SRIOV_VF_STRIDE, 2)); }

uint64_t SriovView::vf_bar_base(int index, const BarSpec& spec) const {
  return bar_address_at(pf, off + PCI_SRIOV_BAR + 4 * static_cast<uint32_t>(index), spec);
}

std::optional<BarHit> decode_vf_bar(const SriovView& sriov, const BarSpecs& vf_bars, unsigned n, uint64_t addr,
                                    uint64_t len) {
  if (!sriov.vf_exists(n) || !sriov.vf_memory_enabled()) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    const BarSpec& b = vf_bars[i];
    if (b.kind != BarSpec::Kind::Mem32 && b.kind != BarSpec::Kind::Mem64) continue;
    const uint64_t base = sriov.vf_bar_base(i, b) + uint64_t{n} * b.size;
    if (addr >= base && len <= b.size && addr - base <= b.size - len) return BarHit{i, addr - base};
  }
  return std::nullopt;
}

}  // namespace vfiosim::pci
