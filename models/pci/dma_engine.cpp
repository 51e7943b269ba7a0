#include "models/pci/dma_engine.h"

#include <linux/pci_regs.h>

#include <cstring>

#include "models/pci/option_rom.h"

namespace vfiosim::pci {

using namespace dmae;

DmaEngine::DmaEngine(const sc_core::sc_module_name& name, uint8_t devfn, const DmaEngineParams& params,
                     RootComplex& rc, stats::Group& parent, uint64_t seed, TraceWriter* trace)
    : sc_module(name),
      PciFunction(std::string(sc_core::sc_module::name()), devfn,
                  params.conventional ? kConfigSizeLegacy : kConfigSizeExpress),
      params_(params),
      rc_(rc),
      clock_(std::string(sc_core::sc_module::name()) + ".clk", params.clock_mhz * 1000000ULL),
      seed_(seed),
      trace_(trace),
      stats_(parent.child(basename())),
      wstats_(stats_),
      jobs_(stats_.counter("jobs", "jobs", "DMA jobs completed")),
      interrupts_(stats_.counter("interrupts", "messages", "MSI-X messages sent")),
      interrupts_pending_(stats_.counter("interrupts_pended", "events", "Completions that found their vector masked")),
      last_bandwidth_(stats_.gauge("last_job_bandwidth_gbps", "Gb/s", "Payload bandwidth of the last job")),
      resets_stat_(stats_.counter("resets", "resets", "Function resets (FLR, secondary bus reset)")),
      interrupt_errors_(stats_.counter("interrupt_errors", "events",
                                       "Interrupts not sent because MSI and MSI-X were both enabled")) {
  ConfigBuilder b(config());
  const bool vf = params_.virtual_function;
  if (vf) {  // A1.6: Vendor and Device ID read 0xFFFF, no interrupt pin, no memory enable of its own
    b.type0(0xFFFF, 0xFFFF, kClassCode, 1, false, 0);
    config().set_wmask(PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR);
  } else {
    b.type0(kVendorId, params_.func1_alias ? kDeviceIdFunc1Alias : kDeviceId, kClassCode, 1, params_.multifunction, 1);
  }
  if (params_.rc_integrated) {
    params_.pcie.type = PortType::RootComplexEndpoint;
    params_.pcie.link_gen = 0;
  }
  bar_memory_.resize(std::min<size_t>(params_.bars.size(), 6));
  for (size_t i = 0; i < params_.bars.size() && i < 6; ++i) {
    bars()[i] = BarSpec{BarSpec::Kind::Mem32, params_.bars[i], false};
    if (!vf) b.bar(static_cast<int>(i), bars()[i]);  // a VF's BAR registers read 0
    if (i > 0) bar_memory_[i] = std::make_unique<SparseStore>(params_.bars[i]);
  }
  if (params_.rom && !vf) {  // a VF has no expansion ROM of its own
    b.rom(params_.rom, false);
    set_rom_size(params_.rom);
    rom_image_ = option_rom_image(kVendorId, params_.func1_alias ? kDeviceIdFunc1Alias : kDeviceId, kClassCode,
                                  std::min<uint32_t>(params_.rom, 4096));
  }
  set_pm_cap(b.add_pm());
  for (const RawCapability& c : params_.extra_capabilities)
    if (!c.extended) b.add_cap(static_cast<uint8_t>(c.id), static_cast<uint8_t>(c.length));
  uint8_t vpd_cap = 0;
  if (params_.vpd && !vf) vpd_cap = b.add_vpd();
  if (!params_.conventional) set_pcie_cap(b.add_pcie(params_.pcie));
  if (vf) {  // a VF's MPS and MRRS fields are RsvdP: its PF's govern (device_control())
    config().set_wmask(pcie_cap() + PCI_EXP_DEVCTL, 2,
                       0x7FFF & ~static_cast<uint32_t>(PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ));
    config().set(pcie_cap() + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN);
  }
  if (!vf) msi_cap_ = b.add_msi(3, true, false);  // 8 vectors requested
  msix_cap_ = b.add_msix(kMsixVectors, 0, MSIX_TABLE, 0, MSIX_PBA);
  if (!params_.conventional) {  // extended capabilities need PCI Express config space
    for (const RawCapability& c : params_.extra_capabilities)
      if (c.extended) b.add_ext_cap(c.id, c.version, c.length);
    set_aer_cap(b.add_aer());
    if (params_.acs) b.add_acs(params_.acs);
    if (params_.ats) b.add_ats();
    if (params_.pasid) b.add_pasid(20);
    if (params_.sriov.total_vfs || vf) b.add_ari(0);
    if (params_.sriov.total_vfs && !vf) sriov_cap_ = b.add_sriov(params_.sriov);
  }
  finish_config();
  if (vpd_cap) {  // the store answers after its access time: a method process on its event
    vpd_ = std::make_unique<Vpd>(config(), vpd_cap, "vfiosim DMA engine", params_.vpd_access_ns * 1000);
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.set_sensitivity(&vpd_->done());
    o.dont_initialize();
    sc_core::sc_spawn([this] { vpd_->complete(); }, sc_core::sc_gen_unique_name("vpd"), &o);
  }
  on_reset();
  if (trace_) track_ = trace_->track(sc_core::sc_module::name());
  SC_HAS_PROCESS(DmaEngine);
  SC_THREAD(engine);
}

uint16_t DmaEngine::dma_rid() const {
  return params_.func1_alias ? static_cast<uint16_t>(rid() | 1) : rid();
}

void DmaEngine::attach_vf(DmaEngine& vf) {
  vf.pf_ = this;
  vf.vf_index_ = static_cast<unsigned>(vfs_.size());
  vfs_.push_back(&vf);
}

bool DmaEngine::present() const {
  return !pf_ || SriovView{pf_->config(), pf_->sriov_cap_}.vf_exists(vf_index_);
}

std::optional<BarHit> DmaEngine::decode_memory(uint64_t addr, uint64_t len) const {
  if (!pf_) return PciFunction::decode_memory(addr, len);
  if (power_state()) return std::nullopt;
  return decode_vf_bar(SriovView{pf_->config(), pf_->sriov_cap_}, bars(), vf_index_, addr, len);
}

uint64_t DmaEngine::reg64(uint32_t off) const {
  uint64_t v;
  std::memcpy(&v, &regs_[off], 8);
  return v;
}

void DmaEngine::set_reg64(uint32_t off, uint64_t v) { std::memcpy(&regs_[off], &v, 8); }

void DmaEngine::on_reset() {
  ++resets_stat_;
  for (DmaEngine* v : vfs_) v->function_level_reset();  // VF Enable is clear again: the VFs are gone
  sriov_enabled_ = false;
  intx_condition_ = false;
  if (intx_asserted_) {  // reset drops the line
    intx_asserted_ = false;
    rc_.intx(*this, false, ClockDomain::to_ps(sc_core::sc_time_stamp()));
  }
  ++generation_;
  regs_.fill(0);
  std::memcpy(&regs_[ID], &kIdValue, 4);
  std::memcpy(&regs_[VERSION], &kVersionValue, 4);
  std::memcpy(&regs_[TAGS], &params_.tags, 4);
  msix_table_.fill(0);
  for (unsigned v = 0; v < kMsixVectors; ++v) msix_table_[v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL] = 1;  // masked
  pba_ = 0;
}

// MSI: vector v of 2^MME is a posted 1-DW write of the message data with its low MME bits
// replaced by v (C1.13), needing Bus Master Enable like any request (C1.14).
void DmaEngine::raise_msi(unsigned vector) {
  const uint32_t flags = config().get(msi_cap_ + PCI_MSI_FLAGS, 2);
  const unsigned mme = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
  const uint32_t mask = (1u << mme) - 1;
  const bool is64 = flags & PCI_MSI_FLAGS_64BIT;
  uint64_t addr = config().get(msi_cap_ + PCI_MSI_ADDRESS_LO, 4);
  if (is64) addr |= static_cast<uint64_t>(config().get(msi_cap_ + PCI_MSI_ADDRESS_HI, 4)) << 32;
  const uint32_t data_reg = config().get(msi_cap_ + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
  const uint32_t data = (data_reg & ~mask) | (vector & mask);
  uint8_t payload[4];
  std::memcpy(payload, &data, 4);
  if (rc_.dma(*this, true, addr, payload, 4, ClockDomain::to_ps(sc_core::sc_time_stamp())).ok) ++interrupts_;
}

void DmaEngine::update_intx() {
  const uint32_t pin = config().get(PCI_INTERRUPT_PIN, 1);
  const uint32_t st = config().get(PCI_STATUS, 2);
  config().set(PCI_STATUS, 2, intx_condition_ ? (st | PCI_STATUS_INTERRUPT) : (st & ~uint32_t{PCI_STATUS_INTERRUPT}));
  const bool assert = pin && intx_condition_ && !(config().get(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
  if (assert == intx_asserted_) return;
  intx_asserted_ = assert;
  rc_.intx(*this, assert, ClockDomain::to_ps(sc_core::sc_time_stamp()));
}

void DmaEngine::on_config_write(uint32_t offset, unsigned len, uint32_t, uint32_t) {
  if (vpd_) vpd_->on_config_write(offset, len);
  if (offset <= PCI_COMMAND + 1 && offset + len > PCI_COMMAND) update_intx();  // INTx Disable
  if (sriov_cap_ && offset < sriov_cap_ + uint32_t{PCI_EXT_CAP_SRIOV_SIZEOF} && offset + len > sriov_cap_) sriov_write();
  // Enabling MSI-X or clearing its function mask delivers pending vectors whose entries are unmasked.
  const uint32_t flags = msix_cap_ + PCI_MSIX_FLAGS;
  if (offset > flags + 1 || offset + len <= flags) return;
  for (unsigned v = 0; v < kMsixVectors; ++v)
    if ((pba_ >> v) & 1) raise_msix(v);
}

// SR-IOV control: clearing VF Enable removes the VFs (each back to its reset state); NumVFs is
// read-only while VF Enable is set.
void DmaEngine::sriov_write() {
  const SriovView v{config(), sriov_cap_};
  const bool enabled = v.vf_enabled();
  if (enabled && !sriov_enabled_) latched_num_vfs_ = v.num_vfs();
  if (enabled && v.num_vfs() != latched_num_vfs_) config().set(sriov_cap_ + PCI_SRIOV_NUM_VF, 2, latched_num_vfs_);
  if (!enabled && sriov_enabled_)
    for (DmaEngine* vf : vfs_) vf->function_level_reset();
  sriov_enabled_ = enabled;
}

bool DmaEngine::msix_enabled() const {
  return config().get(msix_cap_ + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE;
}

bool DmaEngine::msix_function_masked() const {
  return config().get(msix_cap_ + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_MASKALL;
}

tlm::tlm_response_status DmaEngine::bar_access(int bar, uint64_t off, bool write, uint8_t* data, unsigned len,
                                               uint64_t arrival_ps, sc_core::sc_time&) {
  if (bar == 6) {  // the expansion ROM: read-only, erased (0xFF) past the image; writes do nothing
    if (!write)
      for (unsigned i = 0; i < len; ++i) data[i] = off + i < rom_image_.size() ? rom_image_[off + i] : 0xFF;
    return tlm::TLM_OK_RESPONSE;
  }
  if (bar > 0 && bar < static_cast<int>(bar_memory_.size()) && bar_memory_[bar]) {
    SparseStore& m = *bar_memory_[bar];
    const bool done = write ? m.write(off, data, len) : m.read(off, data, len);
    return done ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE;
  }
  if (bar != 0 || (len != 4 && len != 8) || off % len) return tlm::TLM_ADDRESS_ERROR_RESPONSE;
  // MSI-X table and PBA.
  if (off >= MSIX_TABLE && off + len <= MSIX_TABLE + msix_table_.size()) {
    const uint64_t i = off - MSIX_TABLE;
    if (!write) {
      std::memcpy(data, &msix_table_[i], len);
      return tlm::TLM_OK_RESPONSE;
    }
    std::memcpy(&msix_table_[i], data, len);
    const unsigned vector = static_cast<unsigned>(i / 16);
    if ((pba_ >> vector) & 1) raise_msix(vector);  // unmasking delivers what is pending
    return tlm::TLM_OK_RESPONSE;
  }
  if (off >= MSIX_PBA && off + len <= MSIX_PBA + 8) {
    if (!write) std::memcpy(data, reinterpret_cast<const uint8_t*>(&pba_) + (off - MSIX_PBA), len);
    return tlm::TLM_OK_RESPONSE;
  }
  if (off + len > regs_.size()) return tlm::TLM_ADDRESS_ERROR_RESPONSE;
  if (!write) {
    std::memcpy(data, &regs_[off], len);
    return tlm::TLM_OK_RESPONSE;
  }
  uint64_t value = 0;
  std::memcpy(&value, data, len);
  uint32_t status;
  std::memcpy(&status, &regs_[STATUS], 4);
  switch (off) {
    case DOORBELL:
      if ((value & 1) && !(status & STATUS_BUSY)) {
        status = STATUS_BUSY;
        std::memcpy(&regs_[STATUS], &status, 4);
        const uint64_t now = ClockDomain::to_ps(sc_core::sc_time_stamp());
        kick_.notify(ClockDomain::to_time(clock_.ps_of(clock_.cycle_at_or_after(std::max(arrival_ps, now))) - now));
      }
      return tlm::TLM_OK_RESPONSE;
    case STATUS:
      status &= ~(static_cast<uint32_t>(value) & (STATUS_DONE | STATUS_ERROR));
      std::memcpy(&regs_[STATUS], &status, 4);
      if (!(status & STATUS_DONE) && intx_condition_) {  // acknowledged: the level interrupt goes away
        intx_condition_ = false;
        update_intx();
      }
      return tlm::TLM_OK_RESPONSE;
    case CONTROL: case ADDR: case ADDR + 4: case WINDOW: case WINDOW + 4: case SIZE: case OUTSTANDING:
    case COUNT: case COUNT + 4: case DATA_SEED: case MSIX_VECTOR: case STRIDE: case PATTERN_ADDR:
    case PATTERN_ADDR + 4:
      if (!(status & STATUS_BUSY)) std::memcpy(&regs_[off], data, len);  // job registers are locked while busy
      return tlm::TLM_OK_RESPONSE;
    default:
      return tlm::TLM_OK_RESPONSE;  // read-only registers ignore writes
  }
}

Workload DmaEngine::job_from_registers() const {
  uint32_t control, size, outstanding, seed;
  std::memcpy(&control, &regs_[CONTROL], 4);
  std::memcpy(&size, &regs_[SIZE], 4);
  std::memcpy(&outstanding, &regs_[OUTSTANDING], 4);
  std::memcpy(&seed, &regs_[DATA_SEED], 4);
  Workload w;
  w.direction = (control & CTRL_WRITE) ? DmaDirection::Write : DmaDirection::Read;
  w.pattern = (control & CTRL_RANDOM) ? AddressPattern::Random : AddressPattern::Sequential;
  w.verify = (control & CTRL_VERIFY) && !(control & CTRL_WRITE);
  w.size = size;
  w.outstanding = outstanding;
  w.count = reg64(COUNT);
  w.address = reg64(ADDR);
  w.window = reg64(WINDOW);
  w.data_seed = seed;
  uint32_t stride;
  std::memcpy(&stride, &regs_[STRIDE], 4);
  w.stride = stride;
  w.pattern_address = reg64(PATTERN_ADDR);
  return w;
}

void DmaEngine::engine() {
  for (;;) {
    sc_core::wait(kick_);
    const uint64_t generation = generation_;
    const Workload w = job_from_registers();
    WorkloadResult r;
    const bool valid = w.size > 0 && w.size <= (1u << 20) && w.count > 0 && w.outstanding > 0 && w.window >= w.size;
    if (valid) {
      const IssueFn issue = [this](bool write, uint64_t addr, uint8_t* buf, uint64_t len, uint64_t trace_id) {
        const auto res = rc_.dma(*this, write, addr, buf, static_cast<uint32_t>(len),
                                 ClockDomain::to_ps(sc_core::sc_time_stamp()), trace_id);
        return IssueOutcome{res.done_ps, res.ok};
      };
      run_workload(w,
                   LoopContext{clock_, params_.issue_cycles, params_.tags,
                               Rng::stream(seed_ + jobs_.value(), sc_core::sc_module::name()), wstats_, trace_, track_},
                   issue, r);
    }
    if (generation != generation_) continue;  // reset while running: no results, no interrupt
    publish(r);
    const uint32_t status = STATUS_DONE | ((!valid || r.errors) ? uint32_t{STATUS_ERROR} : 0u);
    std::memcpy(&regs_[STATUS], &status, 4);
    ++jobs_;
    uint32_t control, vector;
    std::memcpy(&control, &regs_[CONTROL], 4);
    std::memcpy(&vector, &regs_[MSIX_VECTOR], 4);
    if (control & CTRL_IRQ) raise_msix(vector);
  }
}

void DmaEngine::publish(const WorkloadResult& r) {
  set_reg64(RES_REQUESTS, r.requests);
  set_reg64(RES_BYTES, r.bytes);
  set_reg64(RES_ERRORS, r.errors);
  set_reg64(RES_MISMATCHES, r.mismatches);
  set_reg64(RES_ELAPSED_PS, r.duration_ps());
  set_reg64(RES_LAT_MIN_PS, r.latency_ps.min());
  set_reg64(RES_LAT_P50_PS, r.latency_ps.percentile(50));
  set_reg64(RES_LAT_P90_PS, r.latency_ps.percentile(90));
  set_reg64(RES_LAT_P99_PS, r.latency_ps.percentile(99));
  set_reg64(RES_LAT_MAX_PS, r.latency_ps.max());
  set_reg64(RES_LAT_MEAN_PS, static_cast<uint64_t>(r.latency_ps.mean()));
  last_bandwidth_.set(r.bandwidth_gbps());
}

void DmaEngine::raise_msix(unsigned vector) {
  const bool msi_on = msi_cap_ && (config().get(msi_cap_ + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
  if (msi_on && msix_enabled()) {  // C1.16: forbidden; deliver neither
    ++interrupt_errors_;
    return;
  }
  if (msi_on) {
    raise_msi(vector);
    return;
  }
  if (!msix_enabled()) {  // neither MSI nor MSI-X: the INTx pin (if the function has one)
    intx_condition_ = true;
    update_intx();
    return;
  }
  if (vector >= kMsixVectors) return;
  const uint8_t* e = &msix_table_[vector * 16];
  if (msix_function_masked() || (e[PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT)) {
    if (!((pba_ >> vector) & 1)) ++interrupts_pending_;
    pba_ |= 1ULL << vector;
    return;
  }
  pba_ &= ~(1ULL << vector);
  uint32_t lo, hi, data;
  std::memcpy(&lo, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4);
  std::memcpy(&hi, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4);
  std::memcpy(&data, e + PCI_MSIX_ENTRY_DATA, 4);
  uint8_t payload[4];
  std::memcpy(payload, &data, 4);
  // A posted write on the same path as the data writes, so it arrives after them (C4.8).
  if (rc_.dma(*this, true, (static_cast<uint64_t>(hi) << 32) | lo, payload, 4,
              ClockDomain::to_ps(sc_core::sc_time_stamp())).ok)
    ++interrupts_;
}

}  // namespace vfiosim::pci
