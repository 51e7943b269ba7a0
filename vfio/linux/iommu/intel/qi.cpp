// Queued invalidation and fault handling of the VT-d driver (dmar.c: qi_submit_sync,
// qi_check_fault, qi_flush_context, qi_flush_iotlb; dmar_fault).
#include <cerrno>
#include <cstdio>

#include "models/iommu/vtd_defs.h"
#include "vfio/linux/iommu/intel/intel_iommu.h"

namespace vfiosim::kernel {

using namespace vtd;

namespace {
enum : uint32_t { QI_FREE = 0, QI_IN_USE = 1, QI_DONE = 2, QI_ABORT = 3 };
}

int IntelIommu::qi_submit_sync(const qi_desc* desc, unsigned count) {
  ++*qi_submits_;
  costs_.charge(Cost::QiSubmit);
  const unsigned index = qi_free_head_;
  const unsigned wait_index = (index + count) % qi_slots_;
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t slot = qi_desc_page_ + ((index + i) % qi_slots_) * 16ULL;
    const uint64_t d[2] = {desc[i].qw0, desc[i].qw1};
    store(slot, d, 16);
    const uint32_t in_use = QI_IN_USE;
    store(qi_status_page_ + ((index + i) % qi_slots_) * 4ULL, &in_use, 4);
  }
  const uint64_t status_addr = qi_status_page_ + wait_index * 4ULL;
  const uint64_t wait[2] = {qi_iwd_status_field(QI_DONE) | QI_IWD_SW | QI_IWD_FN | QI_IWD_TYPE, status_addr};
  const uint32_t in_use = QI_IN_USE;
  store(status_addr, &in_use, 4);
  store(qi_desc_page_ + wait_index * 16ULL, wait, 16);
  qi_free_head_ = (wait_index + 1) % qi_slots_;
  // Descriptors are visible before the tail moves (wmb), then IQT rings the unit.
  writel(IQT_REG, qi_free_head_ << kDescShift);

  int rc = 0;
  // Linux spins without a limit; a simulated hang would never end, so give up after a bound.
  constexpr unsigned kMaxPolls = 1000000;
  for (unsigned polls = 0;; ++polls) {
    if (polls == kMaxPolls) {
      if (events_)
        events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg",
                     {{"message", "DMAR: qi_submit_sync: invalidation wait never completed"}});
      return -ETIMEDOUT;
    }
    uint32_t status = 0;
    ++*qi_polls_;
    cpu_.mem_read(status_addr, &status, 4);  // the unit's status write invalidated the cached line
    if (status == QI_DONE) break;
    // qi_check_fault(): an invalidation queue error at one of our descriptors.
    const uint32_t fsts = readl(FSTS_REG);
    if (fsts & FSTS_IQE) {
      const unsigned head = static_cast<unsigned>(readq(IQH_REG) >> kDescShift) % qi_slots_;
      // Overwrite the bad descriptor with the wait descriptor, clear IQE and give up (-EINVAL).
      store(qi_desc_page_ + head * 16ULL, wait, 16);
      writel(FSTS_REG, FSTS_IQE);
      rc = -EINVAL;
      // The copied wait descriptor still writes our status: wait for it so the ring stays in step.
      for (unsigned n = 0; n < kMaxPolls && status != QI_DONE; ++n) {
        cpu_.mem_read(status_addr, &status, 4);
        costs_.charge(Cost::QiPoll);
      }
      break;
    }
    costs_.charge(Cost::QiPoll);
  }
  const uint32_t done = QI_DONE;
  for (unsigned i = 0; i <= count; ++i) store(qi_status_page_ + ((index + i) % qi_slots_) * 4ULL, &done, 4);
  return rc;
}

void IntelIommu::qi_flush_context(uint16_t did, uint16_t sid, unsigned fm, unsigned gran) {
  qi_desc d;
  d.qw0 = (static_cast<uint64_t>(fm & 3) << 48) | qi_sid_field(sid) | qi_did_field(did) | qi_gran_field(gran) |
          QI_CC_TYPE;
  qi_submit_sync(&d, 1);
}

void IntelIommu::qi_flush_iotlb(uint16_t did, uint64_t addr, unsigned size_order, unsigned gran, bool ih) {
  qi_desc d;
  d.qw0 = qi_did_field(did) | ((cap_ & CAP_DRD) ? QI_IOTLB_DR : 0) | ((cap_ & CAP_DWD) ? QI_IOTLB_DW : 0) |
          qi_gran_field(gran) | QI_IOTLB_TYPE;
  d.qw1 = (addr & ~0xFFFULL) | (ih ? QI_IOTLB_IH : 0) | (size_order & 0x3F);
  qi_submit_sync(&d, 1);
}

void IntelIommu::fault_thread() {
  uint64_t seen = 0;
  for (;;) {
    seen = irq_.wait_for(opts_.fault_vector, seen);
    dmar_fault();
  }
}

// dmar_fault(): service the fault records from FSTS.FRI on, clear them, then PFO/PPF.
void IntelIommu::dmar_fault() {
  const uint32_t fsts = readl(FSTS_REG);
  if ((fsts & FSTS_PFO) && events_)
    events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg",
                 {{"message", "DMAR: DRHD: handling fault status reg " + std::to_string(fsts) + " (overflow)"}});
  if (fsts & FSTS_PPF) {
    const uint32_t fro = cap_fro(cap_);
    const unsigned nfr = cap_nfr(cap_);
    unsigned idx = fsts_fri(fsts);
    for (unsigned n = 0; n < nfr; ++n) {
      const uint32_t reg = fro + idx * 16;
      const uint32_t hi_hi = readl(reg + 12);
      if (!(hi_hi & (1u << 31))) break;
      costs_.charge(Cost::FaultHandler);
      const unsigned reason = hi_hi & 0xFF;
      const bool read = hi_hi & (1u << 30);
      const uint16_t sid = static_cast<uint16_t>(readl(reg + 8) & 0xFFFF);
      const uint64_t addr = readq(reg) & ~0xFFFULL;
      writel(reg + 12, 1u << 31);  // clear F
      ++*faults_serviced_;
      if (events_) {
        char msg[200];
        std::snprintf(msg, sizeof msg,
                      "DMAR: [DMA %s NO_PASID] Request device [%02x:%02x.%d] fault addr 0x%llx [fault reason 0x%02x] %s",
                      read ? "Read" : "Write", sid >> 8, (sid >> 3) & 0x1F, sid & 7,
                      static_cast<unsigned long long>(addr), reason, fault_reason_name(static_cast<uint8_t>(reason)));
        events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg", {{"message", msg}});
      }
      idx = (idx + 1) % nfr;
    }
  }
  writel(FSTS_REG, FSTS_PFO | FSTS_PPF);
}

}  // namespace vfiosim::kernel
