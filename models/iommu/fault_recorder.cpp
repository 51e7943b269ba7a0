#include "models/iommu/fault_recorder.h"

#include "models/iommu/vtd_defs.h"

namespace vfiosim::iommu {

using namespace vtd;

bool FaultRecorder::ppf() const {
  for (const auto& r : regs_)
    if (r.hi & FRCD_HI_F) return true;
  return false;
}

void FaultRecorder::event(uint64_t t_ps) {
  if (fectl_ & ECTL_IM) {
    fectl_ |= ECTL_IP;
    pending_ = true;
    return;
  }
  if (raise_) raise_(feaddr, fedata, t_ps);
}

// VT-d 7.2.1 (primary fault logging).
bool FaultRecorder::record(uint8_t reason, uint16_t sid, uint64_t addr, bool read, uint64_t t_ps) {
  if (pfo_) {
    ++overflows_;
    return false;
  }
  Frcd& r = regs_[next_];
  if (r.hi & FRCD_HI_F) {
    pfo_ = true;
    ++overflows_;
    event(t_ps);
    return false;
  }
  const bool was_pending = ppf();
  r.lo = addr & ~0xFFFULL;
  r.hi = frcd_hi(sid, reason, read);
  if (!was_pending) fri_ = next_;  // FRI: where the first pending fault went when PPF was set
  next_ = (next_ + 1) % regs_.size();
  if (!was_pending) event(t_ps);
  return true;
}

uint64_t FaultRecorder::read_frcd(uint32_t off) const {
  const uint32_t idx = off / 16;
  if (idx >= regs_.size()) return 0;
  const Frcd& r = regs_[idx];
  const uint32_t within = off % 16;
  const uint64_t q = within < 8 ? r.lo : r.hi;
  return (within % 8) ? q >> 32 : q;
}

void FaultRecorder::write_frcd(uint32_t off, unsigned len, uint64_t value) {
  const uint32_t idx = off / 16;
  if (idx >= regs_.size()) return;
  const uint32_t within = off % 16;
  // Only F (bit 127) is writable: RW1C, from a 32-bit write at +12 or a 64-bit write at +8.
  bool clear = false;
  if (within == 12 && len == 4) clear = value & (1u << 31);
  if (within == 8 && len == 8) clear = value & FRCD_HI_F;
  if (clear) regs_[idx].hi &= ~FRCD_HI_F;
}

uint32_t FaultRecorder::fsts() const {
  return (pfo_ ? FSTS_PFO : 0) | (ppf() ? FSTS_PPF : 0) | (fri_ << 8);
}

void FaultRecorder::write_fsts(uint32_t value) {
  if (value & FSTS_PFO) pfo_ = false;
  if (!pfo_ && !ppf()) {
    fectl_ &= ~ECTL_IP;
    pending_ = false;
  }
}

void FaultRecorder::write_fectl(uint32_t value, uint64_t t_ps) {
  const bool unmask = (fectl_ & ECTL_IM) && !(value & ECTL_IM);
  fectl_ = (value & ECTL_IM) | (fectl_ & ECTL_IP);
  if (unmask && pending_) {  // the held-back event goes out when software unmasks
    pending_ = false;
    fectl_ &= ~ECTL_IP;
    if (raise_) raise_(feaddr, fedata, t_ps);
  }
}

}  // namespace vfiosim::iommu
