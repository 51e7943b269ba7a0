#include "models/iommu/vtd_iommu.h"

#include <cstdio>
#include <cstring>

#include "models/iommu/vtd_defs.h"
#include "models/pci/pcie_extension.h"
#include "sim/base/tlm_util.h"

namespace vfiosim::iommu {

using namespace vtd;

namespace {
std::string bdf_of(uint16_t rid) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1F, rid & 7);
  return buf;
}
}  // namespace

VtdIommu::VtdIommu(const sc_core::sc_module_name& name, const VtdParams& params, stats::Group& parent, uint64_t seed,
                   TraceWriter* trace, EventLog* events)
    : sc_module(name),
      upstream("upstream"),
      memory("memory"),
      regs("regs"),
      params_(params),
      clock_(std::string(this->name()) + ".clk", params.clock_mhz * 1000000ULL),
      stats_(parent.child(basename())),
      trace_(trace),
      events_(events),
      cap_(params.cap()),
      ecap_(params.ecap()),
      fro_(cap_fro(cap_)),
      requests_(stats_.counter("requests", "requests", "Device requests received from the root complex")),
      translated_(stats_.counter("translated", "requests", "Requests translated and forwarded to memory")),
      untranslated_(stats_.counter("untranslated", "requests", "Requests passed through with translation disabled")),
      faults_total_(stats_.counter("faults", "faults", "Requests blocked by a translation or permission fault")),
      faults_dropped_(stats_.counter("faults_not_recorded", "faults",
                                     "Faults not logged: recording overflowed or the context disabled it (FPD)")),
      faults_by_reason_(stats_.child("faults_by_reason")),
      interrupts_(stats_.counter("interrupts", "messages", "Fault-event and invalidation-event interrupts raised")),
      latency_(stats_.histogram("translation_latency", "ns", "From a request's arrival to its translation", 1e-3)) {
  upstream.register_b_transport(this, &VtdIommu::upstream_transport);
  regs.register_b_transport(this, &VtdIommu::reg_transport);
  xlat_ = std::make_unique<Translator>(
      params_, clock_, stats_, Rng::stream(seed, this->name()),
      [this](uint64_t a, void* d, unsigned l, uint64_t t, uint64_t& done) { return table_read(a, d, l, t, done); });
  faults_ = std::make_unique<FaultRecorder>(params_.fault_records,
                                            [this](uint64_t a, uint32_t d, uint64_t t) { raise(a, d, t); });
  QueueOps ops;
  ops.read = [this](uint64_t a, void* d, unsigned l) { return thread_access(tlm::TLM_READ_COMMAND, a, d, l); };
  ops.write = [this](uint64_t a, const void* d, unsigned l) {
    return thread_access(tlm::TLM_WRITE_COMMAND, a, const_cast<void*>(d), l);
  };
  ops.delay = [this](uint64_t cycles) {
    const uint64_t c = clock_.cycle_at_or_after(sc_core::sc_time_stamp()) + cycles;
    sc_core::wait(clock_.time_of(c) - sc_core::sc_time_stamp());
  };
  ops.interrupt = [this](uint64_t a, uint32_t d) { raise(a, d, ClockDomain::to_ps(sc_core::sc_time_stamp())); };
  ops.error = [this] {  // an IQE is a fault event too (held in FECTL.IP while masked)
    faults_->error_event(ClockDomain::to_ps(sc_core::sc_time_stamp()));
  };
  qi_ = std::make_unique<InvalidationQueue>(params_, *xlat_, stats_, std::move(ops));
  if (trace_) {
    walk_track_ = trace_->track(std::string(this->name()) + ".walks");
    qi_track_ = trace_->track(std::string(this->name()) + ".qi");
  }
  SC_HAS_PROCESS(VtdIommu);
  SC_THREAD(qi_thread);
}

VtdIommu::~VtdIommu() = default;

void VtdIommu::raise(uint64_t addr, uint32_t data, uint64_t t_ps) {
  ++interrupts_;
  if (interrupt_) interrupt_(0, addr, data, t_ps);
}

bool VtdIommu::table_read(uint64_t addr, void* dst, unsigned len, uint64_t t_ps, uint64_t& done_ps) {
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  setup_payload(table_trans_, tlm::TLM_READ_COMMAND, addr, static_cast<uint8_t*>(dst), len);
  sc_core::sc_time delay = ClockDomain::to_time(t_ps > now ? t_ps - now : 0);
  memory->b_transport(table_trans_, delay);
  done_ps = now + ClockDomain::to_ps(delay);
  return table_trans_.is_response_ok();
}

bool VtdIommu::thread_access(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
  tlm::tlm_generic_payload t;
  setup_payload(t, cmd, addr, static_cast<uint8_t*>(data), len);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  memory->b_transport(t, delay);
  sc_core::wait(delay);
  return t.is_response_ok();
}

void VtdIommu::fault(uint8_t reason, uint16_t rid, uint64_t addr, bool read, uint64_t t_ps, uint64_t dma_id) {
  ++faults_total_;
  const std::string key = std::string("reason_") + std::to_string(reason);
  auto* c = const_cast<stats::Stat*>(faults_by_reason_.find(key));
  if (!c) c = &faults_by_reason_.counter(key, "faults", fault_reason_name(reason));
  ++*static_cast<stats::Counter*>(c);
  const bool logged = faults_->record(reason, rid, addr, read, t_ps);
  if (!logged) ++faults_dropped_;
  if (events_)
    events_->add(t_ps, stats_.path(), "dmar_fault",
                 {{"reason", reason},
                  {"reason_name", fault_reason_name(reason)},
                  {"source_id", bdf_of(rid)},
                  {"address", addr},
                  {"access", read ? "read" : "write"},
                  {"recorded", logged}});
  if (trace_)
    trace_->instant(walk_track_, "iommu", "fault", t_ps,
                    {{"reason", reason}, {"source_id", bdf_of(rid)}, {"address", addr}, {"dma", dma_id}});
}

void VtdIommu::upstream_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  ++requests_;
  if (!translation_enabled()) {
    ++untranslated_;
    memory->b_transport(trans, delay);
    return;
  }
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const uint64_t t = now + ClockDomain::to_ps(delay);
  const auto* ext = trans.get_extension<pci::PcieExtension>();
  const uint16_t rid = ext ? ext->rid : 0;
  const uint64_t iova = trans.get_address();
  const bool write = trans.is_write();
  const TranslateResult r = xlat_->translate(rid, iova, write, t, ext && ext->at == pci::AddressType::Translated);
  latency_.sample(r.done_ps - t);
  if (trace_ && r.walked) {
    const uint64_t id = trace_->next_id();
    trace_->async_begin(walk_track_, "iommu", "walk", id, r.walk_start_ps,
                        {{"source_id", bdf_of(rid)}, {"iova", iova}, {"dma", ext ? ext->trace_id : 0}});
    trace_->async_end(walk_track_, "iommu", "walk", id, r.done_ps);
  }
  if (!r.ok) {
    const uint64_t at = clock_.ps_of(clock_.cycle_at_or_after(r.done_ps) + params_.fault_cycles);
    if (r.record) fault(r.reason, rid, iova, !write, at, ext ? ext->trace_id : 0);
    else {
      ++faults_total_;
      ++faults_dropped_;
    }
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    delay = ClockDomain::to_time(at - now);
    return;
  }
  ++translated_;
  trans.set_address(r.addr);
  delay = ClockDomain::to_time(r.done_ps - now);
  memory->b_transport(trans, delay);
  trans.set_address(iova);
}

void VtdIommu::qi_thread() {
  for (;;) {
    sc_core::wait(qi_kick_);
    if (!qi_->runnable()) continue;
    const uint64_t id = trace_ ? trace_->next_id() : 0;
    const uint64_t start = ClockDomain::to_ps(sc_core::sc_time_stamp());
    qi_->drain();
    if (trace_) {
      trace_->async_begin(qi_track_, "iommu", "invalidation", id, start);
      trace_->async_end(qi_track_, "iommu", "invalidation", id, ClockDomain::to_ps(sc_core::sc_time_stamp()),
                        {{"iqh", qi_->iqh}});
    }
  }
}

void VtdIommu::write_gcmd(uint32_t v) {
  // One-shot commands (SRTP) latch and report in GSTS; TE and QIE follow the written value.
  if (v & GCMD_SRTP) {
    xlat_->set_root_table(rtaddr_ & ~0xFFFULL);
    gsts_ |= GSTS_RTPS;
  }
  if (v & GCMD_QIE) {
    if (!qi_->enabled) qi_->iqh = 0;  // enabling resets the head
    qi_->enabled = true;
    gsts_ |= GSTS_QIES;
  } else {
    qi_->enabled = false;
    gsts_ &= ~GSTS_QIES;
  }
  if (v & GCMD_TE) gsts_ |= GSTS_TES;
  else gsts_ &= ~GSTS_TES;
}

uint64_t VtdIommu::reg_read(uint32_t off, unsigned len) {
  uint64_t v = 0;
  const uint32_t base = off & ~7u;
  if (off >= fro_ && off < fro_ + faults_->size() * 16) return faults_->read_frcd(off - fro_);
  switch (base) {
    case VER_REG: v = 0x10; break;
    case CAP_REG: v = cap_; break;
    case ECAP_REG: v = ecap_; break;
    case GCMD_REG: v = static_cast<uint64_t>(gsts_) << 32; break;  // GCMD reads 0, GSTS at +4
    case RTADDR_REG: v = rtaddr_; break;
    case CCMD_REG: v = ccmd_; break;
    case 0x30: v = static_cast<uint64_t>(faults_->fsts() | (qi_->iqe ? FSTS_IQE : 0)) << 32; break;
    case FECTL_REG: v = faults_->fectl() | (static_cast<uint64_t>(faults_->fedata) << 32); break;
    case FEADDR_REG: v = faults_->feaddr; break;
    case IQH_REG: v = qi_->iqh; break;
    case IQT_REG: v = qi_->iqt; break;
    case IQA_REG: v = qi_->iqa; break;
    case 0x98: v = static_cast<uint64_t>(qi_->ics) << 32; break;
    case IECTL_REG: v = qi_->iectl | (static_cast<uint64_t>(qi_->iedata) << 32); break;
    case IEADDR_REG: v = qi_->ieaddr; break;
    default:
      if (base == kIroOffset + 8) v = iotlb_reg_;
      break;
  }
  if (len == 4) v = (off & 4) ? v >> 32 : v & 0xFFFFFFFFULL;
  return v;
}

void VtdIommu::reg_write(uint32_t off, unsigned len, uint64_t value, uint64_t t_ps) {
  if (off >= fro_ && off < fro_ + faults_->size() * 16) return faults_->write_frcd(off - fro_, len, value);
  auto low = [&](uint64_t old) -> uint64_t {  // a 32-bit write to one half of a 64-bit register
    if (len == 8) return value;
    return (off & 4) ? (old & 0xFFFFFFFFULL) | (value << 32) : (old & ~0xFFFFFFFFULL) | (value & 0xFFFFFFFFULL);
  };
  switch (off) {
    case GCMD_REG: write_gcmd(static_cast<uint32_t>(value)); break;
    case RTADDR_REG: case RTADDR_REG + 4: rtaddr_ = low(rtaddr_); break;
    case CCMD_REG: case CCMD_REG + 4: {
      ccmd_ = low(ccmd_);
      if (ccmd_ >> 63) {  // ICC: register-based context-cache invalidation
        const unsigned g = (ccmd_ >> 61) & 3;
        if (g == 2) xlat_->invalidate_context_domain(static_cast<uint16_t>(ccmd_ & 0xFFFF));
        else xlat_->invalidate_context_all();
        ccmd_ = (ccmd_ & ~(1ULL << 63)) | (static_cast<uint64_t>(g ? g : 1) << 59);  // CAIG
      }
      break;
    }
    case FSTS_REG: {
      faults_->write_fsts(static_cast<uint32_t>(value));
      if (value & FSTS_IQE) {
        qi_->iqe = false;
        qi_kick_.notify(sc_core::SC_ZERO_TIME);
      }
      break;
    }
    case FECTL_REG: faults_->write_fectl(static_cast<uint32_t>(value), t_ps); break;
    case FEDATA_REG: faults_->fedata = static_cast<uint32_t>(value); break;
    case FEADDR_REG: case FEUADDR_REG: faults_->feaddr = low(faults_->feaddr); break;
    case IQT_REG: case IQT_REG + 4: {
      qi_->iqt = low(qi_->iqt) & 0x7FFF0ULL;
      const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
      qi_kick_.notify(ClockDomain::to_time(t_ps > now ? t_ps - now : 0));
      break;
    }
    case IQA_REG: case IQA_REG + 4: qi_->iqa = low(qi_->iqa); break;
    case ICS_REG: qi_->write_ics(static_cast<uint32_t>(value)); break;
    case IECTL_REG: qi_->write_iectl(static_cast<uint32_t>(value)); break;
    case IEDATA_REG: qi_->iedata = static_cast<uint32_t>(value); break;
    case IEADDR_REG: case IEUADDR_REG: qi_->ieaddr = low(qi_->ieaddr); break;
    default:
      if (off == kIroOffset + 8 || off == kIroOffset + 12) {  // IOTLB_REG: register-based IOTLB invalidation
        iotlb_reg_ = low(iotlb_reg_);
        if (iotlb_reg_ >> 63) {
          const unsigned g = (iotlb_reg_ >> 60) & 3;
          if (g == 2) xlat_->invalidate_iotlb_domain(static_cast<uint16_t>((iotlb_reg_ >> 32) & 0xFFFF));
          else xlat_->invalidate_iotlb_all();
          iotlb_reg_ = (iotlb_reg_ & ~(1ULL << 63)) | (static_cast<uint64_t>(g ? g : 1) << 57);  // IAIG
        }
      }
      break;
  }
}

void VtdIommu::reg_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
  const uint64_t arrive = now + ClockDomain::to_ps(delay);
  const uint64_t done = clock_.ps_of(clock_.cycle_at_or_after(arrive) + params_.register_cycles);
  const uint64_t off = trans.get_address() - params_.base;
  const unsigned len = trans.get_data_length();
  if (off >= kRegSize || (len != 4 && len != 8) || (off % len)) {
    if (trans.is_read()) std::memset(trans.get_data_ptr(), 0xFF, len);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);  // unclaimed register: reads all ones
    delay = ClockDomain::to_time(done - now);
    return;
  }
  if (trans.is_read()) {
    const uint64_t v = reg_read(static_cast<uint32_t>(off), len);
    std::memcpy(trans.get_data_ptr(), &v, len);
  } else {
    uint64_t v = 0;
    std::memcpy(&v, trans.get_data_ptr(), len);
    reg_write(static_cast<uint32_t>(off), len, v, done);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  delay = ClockDomain::to_time(done - now);
}

}  // namespace vfiosim::iommu
