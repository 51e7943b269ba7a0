// Queued invalidation and fault handling of the VT-d driver (dmar.c: qi_submit_sync,
// qi_check_fault, qi_flush_context, qi_flush_iotlb; dmar_fault).
#include <cerrno>
#include <cstdio>

#include "models/iommu/vtd_defs.h"
#include "vfio/linux/drivers/iommu/intel/iommu.h"

namespace vfiosim::kernel {

using namespace vtd;

namespace {
enum : uint32_t { QI_FREE = 0, QI_IN_USE = 1, QI_DONE = 2, QI_ABORT = 3 };
}

int IntelIommu::qi_submit_sync(intel_iommu& u, const qi_desc* desc, unsigned count) {
  ++*qi_submits_;
  costs_.charge(Cost::QiSubmit);
  const unsigned index = u.qi_free_head;
  const unsigned wait_index = (index + count) % u.qi_slots;
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t slot = u.qi_desc_page + ((index + i) % u.qi_slots) * 16ULL;
    const uint64_t d[2] = {desc[i].qw0, desc[i].qw1};
    store(slot, d, 16);
    const uint32_t in_use = QI_IN_USE;
    store(u.qi_status_page + ((index + i) % u.qi_slots) * 4ULL, &in_use, 4);
  }
  const uint64_t status_addr = u.qi_status_page + wait_index * 4ULL;
  const uint64_t wait[2] = {qi_iwd_status_field(QI_DONE) | QI_IWD_SW | QI_IWD_FN | QI_IWD_TYPE, status_addr};
  const uint32_t in_use = QI_IN_USE;
  store(status_addr, &in_use, 4);
  store(u.qi_desc_page + wait_index * 16ULL, wait, 16);
  u.qi_free_head = (wait_index + 1) % u.qi_slots;
  // Descriptors are visible before the tail moves (wmb), then IQT rings the unit.
  writel(u, IQT_REG, u.qi_free_head << kDescShift);

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
    const uint32_t fsts = readl(u, FSTS_REG);
    if (fsts & FSTS_IQE) {
      const unsigned head = static_cast<unsigned>(readq(u, IQH_REG) >> kDescShift) % u.qi_slots;
      // Overwrite the bad descriptor with the wait descriptor, clear IQE and give up (-EINVAL).
      store(u.qi_desc_page + head * 16ULL, wait, 16);
      writel(u, FSTS_REG, FSTS_IQE);
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
  for (unsigned i = 0; i <= count; ++i) store(u.qi_status_page + ((index + i) % u.qi_slots) * 4ULL, &done, 4);
  return rc;
}

void IntelIommu::qi_flush_context(intel_iommu& u, uint16_t did, uint16_t sid, unsigned fm, unsigned gran) {
  qi_desc d;
  d.qw0 = (static_cast<uint64_t>(fm & 3) << 48) | qi_sid_field(sid) | qi_did_field(did) | qi_gran_field(gran) |
          QI_CC_TYPE;
  qi_submit_sync(u, &d, 1);
}

void IntelIommu::qi_flush_iotlb(intel_iommu& u, uint16_t did, uint64_t addr, unsigned size_order, unsigned gran,
                                bool ih) {
  qi_desc d;
  d.qw0 = qi_did_field(did) | ((u.cap & CAP_DRD) ? QI_IOTLB_DR : 0) | ((u.cap & CAP_DWD) ? QI_IOTLB_DW : 0) |
          qi_gran_field(gran) | QI_IOTLB_TYPE;
  d.qw1 = (addr & ~0xFFFULL) | (ih ? QI_IOTLB_IH : 0) | (size_order & 0x3F);
  qi_submit_sync(u, &d, 1);
}

// dmar_set_interrupt(): a vector for the unit's fault event (dmar_alloc_hwirq) and dmar_fault() as
// its handler; request_irq() activates it (dmar_msi_write: FEDATA, FEADDR, FEUADDR) and unmasks
// it (FECTL.IM cleared, the write flushed with a read).
int IntelIommu::dmar_set_interrupt(intel_iommu& u) {
  if (!dmar_msi_chip_.irq_activate) {
    auto unit = [](irq_desc& d) -> intel_iommu& { return *static_cast<intel_iommu*>(d.chip_data); };
    dmar_msi_chip_.name = "DMAR-MSI";
    dmar_msi_chip_.irq_activate = [this, unit](irq_desc& d) {
      uint64_t address = 0;
      uint32_t data = 0;
      irqs_.compose_msi_msg(d.irq, address, data);
      writel(unit(d), FEDATA_REG, data);
      writel(unit(d), FEADDR_REG, static_cast<uint32_t>(address));
      writel(unit(d), FEUADDR_REG, static_cast<uint32_t>(address >> 32));
    };
    dmar_msi_chip_.irq_deactivate = [this, unit](irq_desc& d) {
      writel(unit(d), FEDATA_REG, 0);
      writel(unit(d), FEADDR_REG, 0);
      writel(unit(d), FEUADDR_REG, 0);
    };
    dmar_msi_chip_.irq_mask = [this, unit](irq_desc& d) {
      writel(unit(d), FECTL_REG, ECTL_IM);
      readl(unit(d), FECTL_REG);
    };
    dmar_msi_chip_.irq_unmask = [this, unit](irq_desc& d) {
      writel(unit(d), FECTL_REG, 0);
      readl(unit(d), FECTL_REG);
    };
  }
  const int irq = irqs_.irq_alloc_vectors(1, false);
  if (irq <= 0) return irq ? irq : -EINVAL;
  u.irq = static_cast<unsigned>(irq);
  irqs_.irq_set_chip_and_data(u.irq, &dmar_msi_chip_, &u);
  auto handler = [this](int, void* id) {
    dmar_fault(*static_cast<intel_iommu*>(id));
    return IRQ_HANDLED;
  };
  if (int ret = irqs_.request_irq(u.irq, handler, IRQF_NO_THREAD, u.name, &u)) {
    irqs_.irq_free_descs(u.irq, 1);
    u.irq = 0;
    return ret;
  }
  return 0;
}

// dmar_fault(): service the fault records from FSTS.FRI on, clear them, then PFO/PPF.
void IntelIommu::dmar_fault(intel_iommu& u) {
  const uint32_t fsts = readl(u, FSTS_REG);
  if ((fsts & FSTS_PFO) && events_)
    events_->add(ClockDomain::to_ps(sc_core::sc_time_stamp()), stats_.path(), "dmesg",
                 {{"message", "DMAR: DRHD: handling fault status reg " + std::to_string(fsts) + " (overflow)"}});
  if (fsts & FSTS_PPF) {
    const uint32_t fro = cap_fro(u.cap);
    const unsigned nfr = cap_nfr(u.cap);
    unsigned idx = fsts_fri(fsts);
    for (unsigned n = 0; n < nfr; ++n) {
      const uint32_t reg = fro + idx * 16;
      const uint32_t hi_hi = readl(u, reg + 12);
      if (!(hi_hi & (1u << 31))) break;
      costs_.charge(Cost::FaultHandler);
      const unsigned reason = hi_hi & 0xFF;
      const bool read = hi_hi & (1u << 30);
      const uint16_t sid = static_cast<uint16_t>(readl(u, reg + 8) & 0xFFFF);
      const uint64_t addr = readq(u, reg) & ~0xFFFULL;
      writel(u, reg + 12, 1u << 31);  // clear F
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
  writel(u, FSTS_REG, FSTS_PFO | FSTS_PPF);
}

}  // namespace vfiosim::kernel
