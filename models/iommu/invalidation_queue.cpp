#include "models/iommu/invalidation_queue.h"

#include "models/iommu/vtd_defs.h"

namespace vfiosim::iommu {

using namespace vtd;

InvalidationQueue::InvalidationQueue(const VtdParams& params, Translator& xlat, stats::Group& s, QueueOps ops)
    : p_(params),
      xlat_(xlat),
      ops_(std::move(ops)),
      descriptors_(s.counter("qi_descriptors", "descriptors", "Invalidation descriptors processed")),
      inv_cc_global_(s.counter("inv_context_global", "descriptors", "Global context-cache invalidations")),
      inv_cc_domain_(s.counter("inv_context_domain", "descriptors", "Domain-selective context-cache invalidations")),
      inv_cc_device_(s.counter("inv_context_device", "descriptors", "Device-selective context-cache invalidations")),
      inv_iotlb_global_(s.counter("inv_iotlb_global", "descriptors", "Global IOTLB invalidations")),
      inv_iotlb_domain_(s.counter("inv_iotlb_domain", "descriptors", "Domain-selective IOTLB invalidations")),
      inv_iotlb_page_(s.counter("inv_iotlb_page", "descriptors", "Page-selective IOTLB invalidations")),
      inv_devtlb_(s.counter("inv_device_tlb", "descriptors", "Device-TLB invalidations (no ATC modelled)")),
      inv_wait_(s.counter("inv_wait", "descriptors", "Invalidation-wait descriptors")),
      entries_dropped_(s.counter("inv_entries_dropped", "entries", "Cache entries removed by invalidations")),
      errors_(s.counter("qi_errors", "descriptors", "Descriptors rejected with an invalidation queue error")) {}

uint64_t InvalidationQueue::slots() const { return (4096ULL << iqa_qs(iqa)) >> kDescShift; }

void InvalidationQueue::write_ics(uint32_t v) {
  if (v & ICS_IWC) {
    ics &= ~ICS_IWC;
    iectl &= ~ECTL_IP;
    iwc_pending_ = false;
  }
}

void InvalidationQueue::write_iectl(uint32_t v) {
  const bool unmask = (iectl & ECTL_IM) && !(v & ECTL_IM);
  iectl = (v & ECTL_IM) | (iectl & ECTL_IP);
  if (unmask && iwc_pending_) {
    iwc_pending_ = false;
    iectl &= ~ECTL_IP;
    ops_.interrupt(ieaddr, iedata);
  }
}

void InvalidationQueue::iwc_interrupt() {
  if (ics & ICS_IWC) return;  // already pending: software has not cleared it
  ics |= ICS_IWC;
  if (iectl & ECTL_IM) {
    iectl |= ECTL_IP;
    iwc_pending_ = true;
  } else {
    ops_.interrupt(ieaddr, iedata);
  }
}

void InvalidationQueue::drain() {
  while (runnable()) {
    const uint64_t index = (iqh >> kDescShift) % slots();
    uint64_t desc[2] = {0, 0};
    if (!ops_.read(iqa_base(iqa) + index * 16, desc, 16)) {
      iqe = true;
      ++errors_;
      ops_.error();
      return;
    }
    ops_.delay(p_.qi_desc_cycles);
    const unsigned type = qi_type(desc[0]);
    if (type < QI_CC_TYPE || type > QI_IWD_TYPE) {
      iqe = true;  // IQH stays on the bad descriptor
      ++errors_;
      ops_.error();
      return;
    }
    process(desc[0], desc[1]);
    iqh = ((index + 1) % slots()) << kDescShift;
  }
}

void InvalidationQueue::process(uint64_t lo, uint64_t hi) {
  ++descriptors_;
  const unsigned g = qi_gran(lo);
  const uint16_t did = qi_did(lo);
  switch (qi_type(lo)) {
    case QI_CC_TYPE:
      if (g == kGranGlobal) {
        ++inv_cc_global_;
        entries_dropped_ += xlat_.invalidate_context_all();
      } else if (g == kGranDomain) {
        ++inv_cc_domain_;
        entries_dropped_ += xlat_.invalidate_context_domain(did);
      } else {
        ++inv_cc_device_;
        entries_dropped_ += xlat_.invalidate_context_device(did, qi_sid(lo), static_cast<unsigned>((lo >> 48) & 3));
      }
      break;
    case QI_IOTLB_TYPE: {
      const unsigned am = qi_iotlb_am(hi);
      if (g == kGranPage && p_.psi && am <= p_.mamv) {
        ++inv_iotlb_page_;
        entries_dropped_ += xlat_.invalidate_iotlb_pages(did, hi & ~0xFFFULL, am, hi & QI_IOTLB_IH);
      } else if (g == kGranGlobal) {
        ++inv_iotlb_global_;
        entries_dropped_ += xlat_.invalidate_iotlb_all();
      } else {  // domain, or a page-selective request the unit performs as domain-selective
        ++inv_iotlb_domain_;
        entries_dropped_ += xlat_.invalidate_iotlb_domain(did);
      }
      break;
    }
    case QI_DIOTLB_TYPE:
      ++inv_devtlb_;
      break;
    case QI_IEC_TYPE:
      break;  // no interrupt remapping: nothing cached
    case QI_IWD_TYPE:
      ++inv_wait_;
      if (lo & QI_IWD_SW) {
        const uint32_t status = qi_iwd_status(lo);
        ops_.write(hi & ~3ULL, &status, 4);
      }
      if (lo & QI_IWD_IF) iwc_interrupt();
      break;
    default:
      break;
  }
}

}  // namespace vfiosim::iommu
