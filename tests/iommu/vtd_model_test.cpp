// VT-d IOMMU hardware model (models/iommu) at the TLM level. The testbench plays both sides: a
// PCIe device issuing DMA with a requester id, and software that builds root/context/page tables
// and the invalidation ring in memory through the backdoor and programs the unit by MMIO. Checks
// are on what reaches memory, what the registers report, the unit's counters and the ordering of
// completion times. The set-associative cache, its replacement policies, GapResource and the
// parameter spec are tested directly at the end.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "models/iommu/replacement.h"
#include "models/iommu/set_assoc_cache.h"
#include "models/iommu/vtd_defs.h"
#include "models/iommu/vtd_iommu.h"
#include "models/iommu/vtd_params.h"
#include "models/memory/memory.h"
#include "models/pci/pcie_extension.h"
#include "sim/base/clock.h"
#include "sim/base/resource.h"
#include "sim/base/tlm_util.h"
#include "sim/config/spec.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using iommu::VtdParams;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Testbench: a device + CPU initiator, the IOMMU and host memory.

constexpr uint64_t kUs = 1000000;  // picoseconds

uint64_t now_ps() { return ClockDomain::to_ps(sc_core::sc_time_stamp()); }

void wait_until(uint64_t ps) {
  if (ps > now_ps()) sc_core::wait(ClockDomain::to_time(ps - now_ps()));
}
void wait_ns(uint64_t ns) { sc_core::wait(sc_core::sc_time(static_cast<double>(ns), sc_core::SC_NS)); }
/// Waits to the next whole microsecond: a cycle boundary of both the 1000 MHz IOMMU and the
/// 1200 MHz memory, so latencies measured from there have no alignment slack.
void align_us() { wait_until((now_ps() / kUs + 1) * kUs); }

struct Access {
  uint64_t start_ps = 0;
  uint64_t done_ps = 0;  // absolute completion time
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  bool ok() const { return status == tlm::TLM_OK_RESPONSE; }
  uint64_t latency() const { return done_ps - start_ps; }
};

struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> dma{"dma"};    // device requests -> upstream
  tlm_utils::simple_initiator_socket<Initiator> mmio{"mmio"};  // CPU register accesses -> regs
  uint64_t base;
  tlm::tlm_response_status last_reg_status = tlm::TLM_INCOMPLETE_RESPONSE;

  Initiator(const sc_core::sc_module_name& n, uint64_t reg_base) : sc_module(n), base(reg_base) {}

  /// A device request issued now; returns without waiting for it (loosely timed).
  Access dma_issue(uint16_t rid, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
    tlm::tlm_generic_payload t;
    setup_payload(t, cmd, addr, static_cast<uint8_t*>(data), len);
    pci::PcieExtension ext;
    ext.rid = rid;
    t.set_extension(&ext);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    Access a;
    a.start_ps = now_ps();
    dma->b_transport(t, delay);
    t.clear_extension(&ext);  // stack-owned: the payload must not free it
    EXPECT_EQ(t.get_address(), addr) << "the initiator's address must be restored";
    a.done_ps = ClockDomain::to_ps(sc_core::sc_time_stamp() + delay);
    a.status = t.get_response_status();
    return a;
  }
  /// A device request, waiting until it completes.
  Access dma_wait(uint16_t rid, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
    const Access a = dma_issue(rid, cmd, addr, data, len);
    wait_until(a.done_ps);
    return a;
  }
  Access read(uint16_t rid, uint64_t addr, void* data, unsigned len) {
    return dma_wait(rid, tlm::TLM_READ_COMMAND, addr, data, len);
  }
  Access write(uint16_t rid, uint64_t addr, const void* data, unsigned len) {
    return dma_wait(rid, tlm::TLM_WRITE_COMMAND, addr, const_cast<void*>(data), len);
  }

  uint64_t reg_read(uint64_t off, unsigned len) {
    uint64_t v = 0;
    tlm::tlm_generic_payload t;
    setup_payload(t, tlm::TLM_READ_COMMAND, base + off, reinterpret_cast<uint8_t*>(&v), len);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    mmio->b_transport(t, delay);
    last_reg_status = t.get_response_status();
    sc_core::wait(delay);
    return v;
  }
  void reg_write(uint64_t off, unsigned len, uint64_t v) {
    tlm::tlm_generic_payload t;
    setup_payload(t, tlm::TLM_WRITE_COMMAND, base + off, reinterpret_cast<uint8_t*>(&v), len);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    mmio->b_transport(t, delay);
    last_reg_status = t.get_response_status();
    sc_core::wait(delay);
  }
  uint32_t read32(uint64_t off) { return static_cast<uint32_t>(reg_read(off, 4)); }
  uint64_t read64(uint64_t off) { return reg_read(off, 8); }
  void write32(uint64_t off, uint32_t v) { reg_write(off, 4, v); }
  void write64(uint64_t off, uint64_t v) { reg_write(off, 8, v); }
};

MemoryParams memory_params() {
  MemoryParams m;
  m.size = 16ULL << 30;  // sparse: room for 1 GiB-aligned frames above the tables
  return m;
}

struct Irq {
  uint64_t addr;
  uint32_t data;
  uint64_t ps;
};

struct Bench {
  stats::Group root{"system"};
  VtdParams params;
  std::unique_ptr<Memory> mem;
  std::unique_ptr<iommu::VtdIommu> iommu;
  Initiator init;
  std::vector<Irq> irqs;

  explicit Bench(const VtdParams& p) : params(p), init("init", p.base) {
    mem = std::make_unique<Memory>("memory", memory_params(), root);
    iommu = std::make_unique<iommu::VtdIommu>("iommu", params, root, 1, nullptr, nullptr);
    iommu->memory.bind(mem->port);
    init.dma.bind(iommu->upstream);
    init.mmio.bind(iommu->regs);
    iommu->on_interrupt([this](uint16_t, uint64_t a, uint32_t d, uint64_t t) { irqs.push_back({a, d, t}); });
  }

  uint64_t count(const std::string& name) {
    const auto* c = dynamic_cast<const stats::Counter*>(iommu->stats().find(name));
    EXPECT_NE(c, nullptr) << "no counter " << name;
    return c ? c->value() : ~0ULL;
  }
  uint64_t faults_of_reason(unsigned reason) {
    const auto* g = iommu->stats().find_child("faults_by_reason");
    if (!g) return 0;
    const auto* c = dynamic_cast<const stats::Counter*>(g->find("reason_" + std::to_string(reason)));
    return c ? c->value() : 0;
  }
  const stats::Distribution& dist(const std::string& name) {
    const auto* h = dynamic_cast<const stats::Histogram*>(iommu->stats().find(name));
    EXPECT_NE(h, nullptr) << "no histogram " << name;
    static const stats::Distribution empty;
    return h ? h->dist() : empty;
  }
};

// ---------------------------------------------------------------------------------------------
// Software side: translation structures written into memory through the backdoor.

unsigned shift_of(unsigned level) { return 12 + 9 * (level - 1); }
unsigned index_of(uint64_t iova, unsigned level) { return static_cast<unsigned>((iova >> shift_of(level)) & 0x1FF); }
uint64_t page_size(unsigned leaf) { return 1ULL << shift_of(leaf); }

uint64_t ctx_lo(uint64_t slptptr, uint64_t tt = vtd::CTX_TT_MULTI_LEVEL, bool fpd = false) {
  return slptptr | (tt << 2) | (fpd ? vtd::CTX_FPD : 0) | vtd::CTX_P;
}
uint64_t ctx_hi(unsigned levels, uint16_t did) { return (levels - 2) | (static_cast<uint64_t>(did) << 8); }

struct Tables {
  Memory& mem;
  uint64_t next = 0x100000;  // bump allocator for 4 KiB structure pages (memory reads zero until written)
  uint64_t rta;

  explicit Tables(Memory& m) : mem(m), rta(alloc()) {}

  uint64_t alloc() {
    const uint64_t a = next;
    next += 4096;
    return a;
  }
  uint64_t rd64(uint64_t a) const {
    uint64_t v = 0;
    EXPECT_TRUE(mem.backdoor_read(a, &v, 8));
    return v;
  }
  void wr64(uint64_t a, uint64_t v) { EXPECT_TRUE(mem.backdoor_write(a, &v, 8)); }

  /// The context table of `bus`, created (and its root entry made present) on first use.
  uint64_t context_table(uint8_t bus) {
    const uint64_t re = rta + bus * 16ULL;
    uint64_t lo = rd64(re);
    if (!(lo & vtd::ROOT_P)) {
      lo = alloc() | vtd::ROOT_P;
      wr64(re, lo);
    }
    return lo & vtd::kAddrMask;
  }
  uint64_t context_entry_addr(uint16_t rid) { return context_table(static_cast<uint8_t>(rid >> 8)) + (rid & 0xFF) * 16ULL; }
  void set_context(uint16_t rid, uint64_t lo, uint64_t hi) {
    const uint64_t a = context_entry_addr(rid);
    wr64(a, lo);
    wr64(a + 8, hi);
  }
  /// Maps `iova` to `frame` with a leaf at `leaf` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB) in the
  /// `levels`-deep table at `top`; intermediate tables are created R/W. Returns the leaf entry's address.
  uint64_t map(uint64_t top, unsigned levels, uint64_t iova, uint64_t frame, unsigned leaf,
               uint64_t perms = vtd::SL_R | vtd::SL_W) {
    uint64_t table = top;
    for (unsigned l = levels; l > leaf; --l) {
      const uint64_t ea = table + index_of(iova, l) * 8ULL;
      uint64_t e = rd64(ea);
      if (!(e & (vtd::SL_R | vtd::SL_W))) {
        e = alloc() | vtd::SL_R | vtd::SL_W;
        wr64(ea, e);
      }
      table = e & vtd::kAddrMask;
    }
    const uint64_t ea = table + index_of(iova, leaf) * 8ULL;
    wr64(ea, frame | perms | (leaf > 1 ? vtd::SL_PS : 0));
    return ea;
  }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

struct Desc {
  uint64_t lo, hi;
};
Desc iotlb_page(uint16_t did, uint64_t addr, unsigned am, bool ih = false) {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranPage) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW |
              vtd::qi_did_field(did),
          (addr & ~0xFFFULL) | (ih ? vtd::QI_IOTLB_IH : 0) | am};
}
Desc iotlb_domain(uint16_t did) {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranDomain) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW |
              vtd::qi_did_field(did),
          0};
}
Desc iotlb_global() {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranGlobal) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW, 0};
}
Desc context_device(uint16_t did, uint16_t sid, unsigned fm = 0) {
  return {vtd::QI_CC_TYPE | vtd::qi_gran_field(vtd::kGranPage) | vtd::qi_did_field(did) | vtd::qi_sid_field(sid) |
              (static_cast<uint64_t>(fm) << 48),
          0};
}
Desc context_global() { return {vtd::QI_CC_TYPE | vtd::qi_gran_field(vtd::kGranGlobal), 0}; }
Desc wait_desc(uint64_t status_addr, uint32_t status, bool sw, bool intr) {
  return {vtd::QI_IWD_TYPE | (sw ? vtd::QI_IWD_SW : 0) | (intr ? vtd::QI_IWD_IF : 0) | vtd::qi_iwd_status_field(status),
          status_addr};
}

struct Frcd {
  uint64_t lo = 0, hi = 0;
  bool f() const { return hi & (1ULL << 63); }
  bool read() const { return hi & (1ULL << 62); }
  unsigned reason() const { return static_cast<unsigned>((hi >> 32) & 0xFF); }
  uint16_t sid() const { return static_cast<uint16_t>(hi & 0xFFFF); }
  uint64_t page() const { return lo & ~0xFFFULL; }
};

constexpr uint16_t kRid = 0x0308;  // 03:01.0
constexpr uint16_t kDid = 5;

struct World {
  Bench b;
  Tables t;
  uint64_t iq;       // invalidation queue: one 4 KiB page, 256 descriptors (QS = 0)
  uint64_t status;   // page for invalidation-wait status words
  unsigned tail = 0;
  unsigned levels;

  explicit World(const VtdParams& p = VtdParams{}) : b(p), t(*b.mem), iq(t.alloc()), status(t.alloc()) {
    levels = *std::max_element(p.levels.begin(), p.levels.end());
  }
  Initiator& sw() { return b.init; }

  /// A device with a multi-level context in domain `did`; returns its top-level table.
  uint64_t add_device(uint16_t rid, uint16_t did) {
    const uint64_t top = t.alloc();
    t.set_context(rid, ctx_lo(top), ctx_hi(levels, did));
    return top;
  }

  // ---- In the test thread ----
  /// What a driver does: root table pointer, queued invalidation, then translation.
  void enable() {
    sw().write64(vtd::RTADDR_REG, t.rta);
    sw().write32(vtd::GCMD_REG, vtd::GCMD_SRTP);
    ASSERT_TRUE(poll([&] { return sw().read32(vtd::GSTS_REG) & vtd::GSTS_RTPS; }));
    sw().write64(vtd::IQA_REG, iq);  // QS 0
    sw().write32(vtd::GCMD_REG, vtd::GCMD_TE | vtd::GCMD_QIE);
    ASSERT_TRUE(poll([&] {
      const uint32_t s = sw().read32(vtd::GSTS_REG);
      return (s & vtd::GSTS_TES) && (s & vtd::GSTS_QIES);
    }));
  }
  template <typename F>
  bool poll(F cond, unsigned tries = 1000) {
    for (unsigned i = 0; i < tries; ++i) {
      if (cond()) return true;
      wait_ns(10);
    }
    return cond();
  }
  /// Writes descriptors at the tail of the ring, then IQT.
  void submit(const std::vector<Desc>& ds) {
    for (const auto& d : ds) {
      t.wr64(iq + tail * 16ULL, d.lo);
      t.wr64(iq + tail * 16ULL + 8, d.hi);
      tail = (tail + 1) % 256;
    }
    sw().write64(vtd::IQT_REG, static_cast<uint64_t>(tail) << vtd::kDescShift);
  }
  uint32_t status_word(uint64_t addr) const {
    uint32_t v = 0;
    EXPECT_TRUE(b.mem->backdoor_read(addr, &v, 4));
    return v;
  }
  /// Polls memory (every ns) until the status word at `addr` holds `v`; false after `timeout_ns`.
  bool wait_status(uint64_t addr, uint32_t v, uint64_t timeout_ns = 200000) {
    for (uint64_t i = 0; i < timeout_ns; ++i) {
      if (status_word(addr) == v) return true;
      wait_ns(1);
    }
    return false;
  }
  /// Submits `ds` followed by a status-writing wait descriptor and waits for the status.
  void invalidate(std::vector<Desc> ds, uint32_t token) {
    const uint64_t addr = status + 4ULL * (token % 1024);
    ds.push_back(wait_desc(addr, token, true, false));
    submit(ds);
    EXPECT_TRUE(wait_status(addr, token)) << "invalidation wait " << token << " never completed";
  }
  Frcd frcd(unsigned i) {
    const uint32_t fro = vtd::cap_fro(sw().read64(vtd::CAP_REG));
    Frcd r;
    r.lo = sw().read64(fro + 16ULL * i);
    r.hi = sw().read64(fro + 16ULL * i + 8);
    return r;
  }
  void clear_frcd(unsigned i) {
    const uint32_t fro = vtd::cap_fro(sw().read64(vtd::CAP_REG));
    sw().write32(fro + 16ULL * i + 12, 1u << 31);
  }
  /// Reads 8 bytes of `iova` as the device and returns them (0 on a faulted request).
  uint64_t read_u64(uint16_t rid, uint64_t iova) {
    uint64_t v = 0;
    EXPECT_TRUE(sw().read(rid, iova, &v, 8).ok()) << std::hex << iova;
    return v;
  }
  void fill(uint64_t pa, uint64_t value) { t.wr64(pa, value); }
};

// An IOVA with a distinct non-zero index at every level of a `levels`-deep table.
uint64_t sample_iova(unsigned levels) {
  const unsigned idx[6] = {0, 0x013, 0x057, 0x1A5, 0x0C3, 0x021};
  uint64_t iova = 0xABC;
  for (unsigned l = 1; l <= levels; ++l) iova |= static_cast<uint64_t>(idx[l]) << shift_of(l);
  return iova;
}

// ---------------------------------------------------------------------------------------------
// 1. Translation: data comes from and goes to the translated address.

void check_translation(unsigned levels, unsigned leaf) {
  VtdParams p;
  p.levels = {levels};
  World w(p);
  const uint64_t iova = sample_iova(levels);
  const uint64_t frame = leaf == 1 ? 0x234567000ULL : leaf == 2 ? 0x234600000ULL : 0x340000000ULL;
  ASSERT_EQ(frame % page_size(leaf), 0u);
  const uint64_t pa = frame + (iova & (page_size(leaf) - 1));
  const uint64_t top = w.add_device(kRid, kDid);
  w.t.map(top, levels, iova, frame, leaf);
  const auto in = pattern(64, 0x5A);
  ASSERT_TRUE(w.b.mem->backdoor_write(pa, in.data(), in.size()));
  // Sentinel at the same offset of a neighbouring page: a wrong frame would read it.
  const auto decoy = pattern(64, 0x11);
  ASSERT_TRUE(w.b.mem->backdoor_write(pa + page_size(leaf), decoy.data(), decoy.size()));

  std::vector<uint8_t> out(64, 0);
  const auto wr = pattern(32, 0xC3);
  Access r, wa;
  sctest::run_in_thread([&] {
    w.enable();
    r = w.sw().read(kRid, iova, out.data(), 64);
    wa = w.sw().write(kRid, iova + 64, wr.data(), 32);
  });
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(wa.ok());
  EXPECT_EQ(out, in);
  std::vector<uint8_t> landed(32, 0);
  ASSERT_TRUE(w.b.mem->backdoor_read(pa + 64, landed.data(), 32));
  EXPECT_EQ(landed, wr);
  // One walk: the root and context entries, then one entry per level from the top to the leaf.
  EXPECT_EQ(w.b.count("walks"), 1u);
  EXPECT_EQ(w.b.count("mem_read"), 2u + (levels - leaf + 1));
  EXPECT_EQ(w.b.count("iotlb_miss"), 1u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 1u);  // the write is in the same page
  EXPECT_EQ(w.b.count("translated"), 2u);
  EXPECT_EQ(w.b.count("faults"), 0u);
}

}  // namespace

TEST(VtdTranslate, ThreeLevelTableWith4KiBLeaf) { check_translation(3, 1); }
TEST(VtdTranslate, ThreeLevelTableWith2MiBLeaf) { check_translation(3, 2); }
TEST(VtdTranslate, ThreeLevelTableWith1GiBLeaf) { check_translation(3, 3); }
TEST(VtdTranslate, FourLevelTableWith4KiBLeaf) { check_translation(4, 1); }
TEST(VtdTranslate, FourLevelTableWith2MiBLeaf) { check_translation(4, 2); }
TEST(VtdTranslate, FourLevelTableWith1GiBLeaf) { check_translation(4, 3); }
TEST(VtdTranslate, FiveLevelTableWith4KiBLeaf) { check_translation(5, 1); }
TEST(VtdTranslate, FiveLevelTableWith2MiBLeaf) { check_translation(5, 2); }
TEST(VtdTranslate, FiveLevelTableWith1GiBLeaf) { check_translation(5, 3); }

TEST(VtdTranslate, TwoDevicesWithDifferentTablesSeeTheirOwnFrames) {
  World w;
  const uint16_t rid2 = 0x0410;  // another bus, its own context table
  const uint64_t iova = 0x7000;
  w.t.map(w.add_device(kRid, 1), 4, iova, 0x10000000, 1);
  w.t.map(w.add_device(rid2, 2), 4, iova, 0x20000000, 1);
  w.fill(0x10000000, 0x1111);
  w.fill(0x20000000, 0x2222);
  uint64_t a = 0, b = 0;
  sctest::run_in_thread([&] {
    w.enable();
    a = w.read_u64(kRid, iova);
    b = w.read_u64(rid2, iova);
  });
  EXPECT_EQ(a, 0x1111u);
  EXPECT_EQ(b, 0x2222u);
  EXPECT_EQ(w.b.count("ctxt_miss"), 2u);
}

TEST(VtdTranslate, RequestsPassUntranslatedUntilTranslationIsEnabled) {
  World w;
  w.t.map(w.add_device(kRid, kDid), 4, 0x5000, 0x30000000, 1);
  w.fill(0x5000, 0xAAAA);      // the untranslated address
  w.fill(0x30000000, 0xBBBB);  // the translated one
  uint64_t before = 0, during = 0, after = 0;
  uint32_t gsts_after = 0;
  sctest::run_in_thread([&] {
    EXPECT_TRUE(w.sw().read(kRid, 0x5000, &before, 8).ok());
    w.enable();
    EXPECT_TRUE(w.sw().read(kRid, 0x5000, &during, 8).ok());
    // GCMD is not sticky: writing QIE alone turns translation off again.
    w.sw().write32(vtd::GCMD_REG, vtd::GCMD_QIE);
    gsts_after = w.sw().read32(vtd::GSTS_REG);
    EXPECT_TRUE(w.sw().read(kRid, 0x5000, &after, 8).ok());
  });
  EXPECT_EQ(before, 0xAAAAu);
  EXPECT_EQ(during, 0xBBBBu);
  EXPECT_EQ(after, 0xAAAAu);
  EXPECT_FALSE(gsts_after & vtd::GSTS_TES);
  EXPECT_TRUE(gsts_after & vtd::GSTS_QIES);
  EXPECT_EQ(w.b.count("untranslated"), 2u);
  EXPECT_EQ(w.b.count("translated"), 1u);
  EXPECT_EQ(w.b.count("requests"), 3u);
}

// ---------------------------------------------------------------------------------------------
// 2. Permission faults and fault recording.

TEST(VtdFault, WriteToReadOnlyPageIsReason5AndLeavesMemoryUntouched) {
  World w;
  const uint64_t iova = 0x40123000, frame = 0x50000000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, frame, 1, vtd::SL_R);
  const auto orig = pattern(64, 0x77);
  ASSERT_TRUE(w.b.mem->backdoor_write(frame + 0x80, orig.data(), 64));
  const auto data = pattern(64, 0x01);
  Access wa, ra;
  Frcd rec;
  uint32_t fsts = 0;
  std::vector<uint8_t> readback(64, 0);
  sctest::run_in_thread([&] {
    w.enable();
    wa = w.sw().write(kRid, iova + 0x80, data.data(), 64);
    ra = w.sw().read(kRid, iova + 0x80, readback.data(), 64);  // reading the page is allowed
    rec = w.frcd(0);
    fsts = w.sw().read32(vtd::FSTS_REG);
  });
  EXPECT_FALSE(wa.ok());
  EXPECT_TRUE(ra.ok());
  EXPECT_EQ(readback, orig);
  std::vector<uint8_t> mem(64, 0);
  ASSERT_TRUE(w.b.mem->backdoor_read(frame + 0x80, mem.data(), 64));
  EXPECT_EQ(mem, orig) << "a faulted write must not reach memory";
  EXPECT_TRUE(rec.f());
  EXPECT_FALSE(rec.read()) << "T = 0: write request";
  EXPECT_EQ(rec.reason(), 5u);
  EXPECT_EQ(rec.sid(), kRid);
  EXPECT_EQ(rec.page(), iova);
  EXPECT_TRUE(fsts & vtd::FSTS_PPF);
  EXPECT_FALSE(fsts & vtd::FSTS_PFO);
  EXPECT_EQ(vtd::fsts_fri(fsts), 0u);
  EXPECT_EQ(w.b.count("faults"), 1u);
  EXPECT_EQ(w.b.faults_of_reason(5), 1u);
  EXPECT_EQ(w.b.count("translated"), 1u);  // only the read
  const auto* bw = dynamic_cast<const stats::Counter*>(w.b.root.lookup("memory.bytes_written"));
  ASSERT_NE(bw, nullptr);
  EXPECT_EQ(bw->value(), 0u) << "nothing written to memory by DMA";
}

TEST(VtdFault, ReadOfNotPresentPageIsReason6AndReturnsNoData) {
  World w;
  const uint64_t mapped = 0x200000, unmapped = 0x203000;  // same page table, leaf entry left zero
  w.t.map(w.add_device(kRid, kDid), 4, mapped, 0x60000000, 1);
  std::vector<uint8_t> buf(64, 0xEE);
  Access ra;
  Frcd rec;
  uint32_t fsts = 0;
  sctest::run_in_thread([&] {
    w.enable();
    ra = w.sw().read(kRid, unmapped + 0x10, buf.data(), 64);
    rec = w.frcd(0);
    fsts = w.sw().read32(vtd::FSTS_REG);
  });
  EXPECT_FALSE(ra.ok());
  EXPECT_EQ(ra.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(buf, std::vector<uint8_t>(64, 0xEE)) << "no data for a faulted read";
  EXPECT_TRUE(rec.f());
  EXPECT_TRUE(rec.read()) << "T = 1: read request";
  EXPECT_EQ(rec.reason(), 6u);
  EXPECT_EQ(rec.sid(), kRid);
  EXPECT_EQ(rec.page(), unmapped);
  EXPECT_TRUE(fsts & vtd::FSTS_PPF);
  EXPECT_EQ(vtd::fsts_fri(fsts), 0u);
  EXPECT_EQ(w.b.faults_of_reason(6), 1u);
  const auto* br = dynamic_cast<const stats::Counter*>(w.b.root.lookup("memory.bytes_read"));
  ASSERT_NE(br, nullptr);
  EXPECT_EQ(br->value(), w.b.count("mem_read") * 8 + 2 * 8) << "only table reads (16 B root/context, 8 B entries)";
}

TEST(VtdFault, FaultEventInterruptCarriesFedataAndFeaddrWhenUnmasked) {
  World w;
  w.add_device(kRid, kDid);  // empty table: every address faults
  Access a1, a2, a3;
  size_t after_first = 0, after_second = 0;
  uint32_t fectl = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::FEDATA_REG, 0x4041);
    w.sw().write32(vtd::FEADDR_REG, 0xFEE01000);
    w.sw().write32(vtd::FECTL_REG, 0);  // unmask
    uint64_t v = 0;
    a1 = w.sw().read(kRid, 0x1000, &v, 8);
    after_first = w.b.irqs.size();
    a2 = w.sw().read(kRid, 0x2000, &v, 8);  // PPF already set: no new event
    after_second = w.b.irqs.size();
    w.clear_frcd(0);
    w.clear_frcd(1);
    a3 = w.sw().read(kRid, 0x3000, &v, 8);  // PPF 0 -> 1 again
    fectl = w.sw().read32(vtd::FECTL_REG);
  });
  EXPECT_FALSE(a1.ok());
  EXPECT_EQ(after_first, 1u);
  EXPECT_EQ(after_second, 1u);
  ASSERT_EQ(w.b.irqs.size(), 2u);
  for (const auto& irq : w.b.irqs) {
    EXPECT_EQ(irq.addr, 0xFEE01000u);
    EXPECT_EQ(irq.data, 0x4041u);
  }
  EXPECT_GT(w.b.irqs[0].ps, a1.start_ps);
  EXPECT_LE(w.b.irqs[0].ps, a1.done_ps);
  EXPECT_GT(w.b.irqs[1].ps, a3.start_ps);
  EXPECT_LE(w.b.irqs[1].ps, a3.done_ps);
  EXPECT_FALSE(fectl & vtd::ECTL_IP);
  EXPECT_EQ(w.b.count("interrupts"), 2u);
}

TEST(VtdFault, FaultEventHeldWhileMaskedAndDeliveredOnUnmask) {
  World w;
  w.add_device(kRid, kDid);
  uint32_t fectl_masked = 0, fectl_after = 0;
  size_t irqs_masked = 0;
  uint64_t unmask_at = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::FEDATA_REG, 0x99);
    w.sw().write32(vtd::FEADDR_REG, 0xFEE00000);
    uint64_t v = 0;
    EXPECT_FALSE(w.sw().read(kRid, 0x9000, &v, 8).ok());  // IM is set at reset
    wait_ns(1000);
    irqs_masked = w.b.irqs.size();
    fectl_masked = w.sw().read32(vtd::FECTL_REG);
    unmask_at = now_ps();
    w.sw().write32(vtd::FECTL_REG, 0);
    fectl_after = w.sw().read32(vtd::FECTL_REG);
  });
  EXPECT_EQ(irqs_masked, 0u);
  EXPECT_TRUE(fectl_masked & vtd::ECTL_IM);
  EXPECT_TRUE(fectl_masked & vtd::ECTL_IP);
  ASSERT_EQ(w.b.irqs.size(), 1u);
  EXPECT_EQ(w.b.irqs[0].addr, 0xFEE00000u);
  EXPECT_EQ(w.b.irqs[0].data, 0x99u);
  EXPECT_GE(w.b.irqs[0].ps, unmask_at);
  EXPECT_FALSE(fectl_after & vtd::ECTL_IP);
  EXPECT_FALSE(fectl_after & vtd::ECTL_IM);
}

// 3. Fault recording overflow.
TEST(VtdFault, RecordingOverflowDropsThirdFaultAndResumesAfterSoftwareServicesIt) {
  VtdParams p;
  p.fault_records = 2;
  World w(p);
  w.add_device(kRid, kDid);
  Frcd r0, r1, r0_again;
  uint32_t fsts_full = 0, fsts_serviced = 0, fsts_final = 0;
  uint64_t dropped_full = 0, faults_full = 0;
  unsigned nfr = 0;
  sctest::run_in_thread([&] {
    w.enable();
    nfr = vtd::cap_nfr(w.sw().read64(vtd::CAP_REG));
    uint64_t v = 0;
    for (uint64_t iova : {0xA000ULL, 0xB000ULL, 0xC000ULL}) EXPECT_FALSE(w.sw().read(kRid, iova, &v, 8).ok());
    r0 = w.frcd(0);
    r1 = w.frcd(1);
    fsts_full = w.sw().read32(vtd::FSTS_REG);
    dropped_full = w.b.count("faults_not_recorded");
    faults_full = w.b.count("faults");
    // Software services both records and the overflow.
    w.clear_frcd(0);
    w.clear_frcd(1);
    w.sw().write32(vtd::FSTS_REG, vtd::FSTS_PFO);
    fsts_serviced = w.sw().read32(vtd::FSTS_REG);
    EXPECT_FALSE(w.sw().write(kRid, 0xD000, &v, 8).ok());
    r0_again = w.frcd(0);
    fsts_final = w.sw().read32(vtd::FSTS_REG);
  });
  EXPECT_EQ(nfr, 2u);
  EXPECT_TRUE(r0.f());
  EXPECT_EQ(r0.page(), 0xA000u);
  EXPECT_TRUE(r1.f());
  EXPECT_EQ(r1.page(), 0xB000u);
  EXPECT_TRUE(fsts_full & vtd::FSTS_PFO);
  EXPECT_TRUE(fsts_full & vtd::FSTS_PPF);
  EXPECT_EQ(vtd::fsts_fri(fsts_full), 0u);
  EXPECT_EQ(faults_full, 3u);
  EXPECT_EQ(dropped_full, 1u);
  EXPECT_FALSE(fsts_serviced & vtd::FSTS_PFO);
  EXPECT_FALSE(fsts_serviced & vtd::FSTS_PPF);
  // Recording resumes at the hardware's next index, which wrapped back to register 0.
  EXPECT_TRUE(r0_again.f());
  EXPECT_EQ(r0_again.page(), 0xD000u);
  EXPECT_FALSE(r0_again.read());
  EXPECT_EQ(r0_again.reason(), 5u);
  EXPECT_TRUE(fsts_final & vtd::FSTS_PPF);
  EXPECT_FALSE(fsts_final & vtd::FSTS_PFO);
  EXPECT_EQ(vtd::fsts_fri(fsts_final), 0u);
  EXPECT_EQ(w.b.count("faults_not_recorded"), 1u);
  EXPECT_EQ(w.b.count("faults"), 4u);
}

TEST(VtdFault, SecondPendingFaultGoesToNextRecordAndFriKeepsTheFirst) {
  World w;
  w.add_device(kRid, kDid);
  Frcd r0, r1, r2;
  uint32_t fsts = 0;
  sctest::run_in_thread([&] {
    w.enable();
    uint64_t v = 0;
    w.sw().read(kRid, 0x1000, &v, 8);
    w.sw().write(kRid, 0x2000, &v, 8);
    r0 = w.frcd(0);
    r1 = w.frcd(1);
    r2 = w.frcd(2);
    fsts = w.sw().read32(vtd::FSTS_REG);
  });
  EXPECT_TRUE(r0.f());
  EXPECT_TRUE(r0.read());
  EXPECT_EQ(r0.reason(), 6u);
  EXPECT_TRUE(r1.f());
  EXPECT_FALSE(r1.read());
  EXPECT_EQ(r1.reason(), 5u);
  EXPECT_EQ(r1.page(), 0x2000u);
  EXPECT_FALSE(r2.f());
  EXPECT_EQ(vtd::fsts_fri(fsts), 0u);
}

// 4. Structure faults.
TEST(VtdFault, RootEntryNotPresentIsReason1) {
  World w;
  w.add_device(kRid, kDid);
  const uint16_t other_bus = 0x0700;  // no root entry for bus 7
  Frcd rec;
  Access a;
  sctest::run_in_thread([&] {
    w.enable();
    uint64_t v = 0;
    a = w.sw().read(other_bus, 0x1000, &v, 8);
    rec = w.frcd(0);
  });
  EXPECT_FALSE(a.ok());
  EXPECT_TRUE(rec.f());
  EXPECT_EQ(rec.reason(), 1u);
  EXPECT_EQ(rec.sid(), other_bus);
  EXPECT_EQ(w.b.faults_of_reason(1), 1u);
}

TEST(VtdFault, ContextEntryNotPresentIsReason2) {
  World w;
  w.add_device(kRid, kDid);
  const uint16_t sibling = kRid + 1;  // same bus (root present), function 1 has no context entry
  Frcd rec;
  Access a;
  sctest::run_in_thread([&] {
    w.enable();
    uint64_t v = 0;
    a = w.sw().write(sibling, 0x1000, &v, 8);
    rec = w.frcd(0);
  });
  EXPECT_FALSE(a.ok());
  EXPECT_TRUE(rec.f());
  EXPECT_EQ(rec.reason(), 2u);
  EXPECT_EQ(rec.sid(), sibling);
  EXPECT_FALSE(rec.read());
}

TEST(VtdFault, UnsupportedAddressWidthOrTranslationTypeIsInvalidContextReason3) {
  VtdParams p;
  p.levels = {4};
  p.pass_through = false;
  World w(p);
  const uint16_t aw3 = 0x0100, tt_devtlb = 0x0101, tt_pt = 0x0102;
  const uint64_t top = w.t.alloc();
  w.t.map(top, 3, 0x1000, 0x70000000, 1);
  w.t.set_context(aw3, ctx_lo(top), ctx_hi(3, 1));                              // AW = 1 (39-bit): not in SAGAW
  w.t.set_context(tt_devtlb, ctx_lo(top, vtd::CTX_TT_DEV_IOTLB), ctx_hi(4, 1));  // no ECAP.DT
  w.t.set_context(tt_pt, ctx_lo(0, vtd::CTX_TT_PASS_THROUGH), ctx_hi(4, 1));     // no ECAP.PT
  Frcd rec[3];
  bool ok[3] = {true, true, true};
  sctest::run_in_thread([&] {
    w.enable();
    uint64_t v = 0;
    const uint16_t rids[3] = {aw3, tt_devtlb, tt_pt};
    for (int i = 0; i < 3; ++i) ok[i] = w.sw().read(rids[i], 0x1000, &v, 8).ok();
    for (unsigned i = 0; i < 3; ++i) rec[i] = w.frcd(i);
  });
  const uint16_t rids[3] = {aw3, tt_devtlb, tt_pt};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(ok[i]) << i;
    EXPECT_TRUE(rec[i].f()) << i;
    EXPECT_EQ(rec[i].reason(), 3u) << i;
    EXPECT_EQ(rec[i].sid(), rids[i]) << i;
  }
  EXPECT_EQ(w.b.faults_of_reason(3), 3u);
  EXPECT_EQ(w.b.count("walks"), 0u);
}

TEST(VtdFault, AddressBeyondTheDomainAddressWidthIsReason4) {
  VtdParams p;
  p.levels = {3, 4};
  World w(p);
  const uint64_t top = w.t.alloc();
  w.t.set_context(kRid, ctx_lo(top), ctx_hi(3, kDid));  // 39-bit domain
  w.t.map(top, 3, (1ULL << 39) - 0x1000, 0x70000000, 1);
  w.fill(0x70000000, 0x1234);
  Frcd rec;
  Access beyond;
  uint64_t inside = 0;
  sctest::run_in_thread([&] {
    w.enable();
    inside = w.read_u64(kRid, (1ULL << 39) - 0x1000);
    uint64_t v = 0;
    beyond = w.sw().read(kRid, 1ULL << 39, &v, 8);
    rec = w.frcd(0);
  });
  EXPECT_EQ(inside, 0x1234u);
  EXPECT_FALSE(beyond.ok());
  EXPECT_TRUE(rec.f());
  EXPECT_EQ(rec.reason(), 4u);
  EXPECT_EQ(rec.page(), 1ULL << 39);
  EXPECT_EQ(w.b.count("walks"), 1u) << "no walk for an address beyond the width";
}

TEST(VtdFault, ReservedBitsInRootContextAndPagingEntriesAreReportedAsSuch) {
  VtdParams p;
  p.superpage_1g = false;
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  // Paging entry with a reserved bit (52) in the PTE of 0x1000.
  const uint64_t pte = w.t.map(top, 4, 0x1000, 0x70000000, 1);
  w.t.wr64(pte, w.t.rd64(pte) | (1ULL << 52));
  // A 1 GiB leaf while CAP.SLLPS does not offer 1 GiB pages.
  w.t.map(top, 4, 0x80000000ULL, 0x80000000ULL, 3);
  // Context entry with a reserved high bit (rid 0x0309).
  const uint64_t top2 = w.t.alloc();
  w.t.set_context(0x0309, ctx_lo(top2), ctx_hi(4, 2) | (1ULL << 40));
  // Root entry with its reserved upper quadword set (bus 9).
  const uint64_t ct9 = w.t.context_table(9);
  w.t.wr64(w.t.rta + 9 * 16 + 8, 1);
  w.t.wr64(ct9, ctx_lo(top2));
  w.t.wr64(ct9 + 8, ctx_hi(4, 2));
  Frcd rec[4];
  sctest::run_in_thread([&] {
    w.enable();
    uint64_t v = 0;
    EXPECT_FALSE(w.sw().read(kRid, 0x1000, &v, 8).ok());
    EXPECT_FALSE(w.sw().read(kRid, 0x80000000ULL, &v, 8).ok());
    EXPECT_FALSE(w.sw().read(0x0309, 0x1000, &v, 8).ok());
    EXPECT_FALSE(w.sw().read(0x0900, 0x1000, &v, 8).ok());
    for (unsigned i = 0; i < 4; ++i) rec[i] = w.frcd(i);
  });
  EXPECT_EQ(rec[0].reason(), 0xCu);
  EXPECT_EQ(rec[1].reason(), 0xCu);
  EXPECT_EQ(rec[2].reason(), 0xBu);
  EXPECT_EQ(rec[3].reason(), 0xAu);
  EXPECT_EQ(rec[3].sid(), 0x0900u);
}

TEST(VtdFault, FaultProcessingDisabledContextBlocksTheRequestButRecordsNothing) {
  World w;
  const uint64_t top = w.t.alloc();
  w.t.set_context(kRid, ctx_lo(top, vtd::CTX_TT_MULTI_LEVEL, true), ctx_hi(4, kDid));
  Access a;
  Frcd rec;
  uint32_t fsts = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::FECTL_REG, 0);
    uint64_t v = 0;
    a = w.sw().read(kRid, 0x1000, &v, 8);
    rec = w.frcd(0);
    fsts = w.sw().read32(vtd::FSTS_REG);
  });
  EXPECT_FALSE(a.ok());
  EXPECT_FALSE(rec.f());
  EXPECT_FALSE(fsts & vtd::FSTS_PPF);
  EXPECT_TRUE(w.b.irqs.empty());
  EXPECT_EQ(w.b.count("faults"), 1u);
  EXPECT_EQ(w.b.count("faults_not_recorded"), 1u);
}

// ---------------------------------------------------------------------------------------------
// 5. Pass-through contexts.

TEST(VtdPassThrough, PassThroughContextLeavesTheAddressUnchangedWithoutIotlb) {
  World w;
  w.t.set_context(kRid, ctx_lo(0, vtd::CTX_TT_PASS_THROUGH), ctx_hi(4, kDid));
  const uint64_t addr = 0x12345000;
  w.fill(addr + 8, 0xFEEDFACE);
  uint64_t got = 0;
  const uint64_t put = 0x0BADC0DE;
  sctest::run_in_thread([&] {
    w.enable();
    EXPECT_TRUE(w.sw().read(kRid, addr + 8, &got, 8).ok());
    EXPECT_TRUE(w.sw().write(kRid, addr + 0x10, &put, 8).ok());
  });
  EXPECT_EQ(got, 0xFEEDFACEu);
  EXPECT_EQ(w.t.rd64(addr + 0x10), put);
  EXPECT_EQ(w.b.count("pass_through"), 2u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 0u);
  EXPECT_EQ(w.b.count("iotlb_miss"), 0u);
  EXPECT_EQ(w.b.count("walks"), 0u);
  EXPECT_EQ(w.b.count("mem_read"), 2u);  // root + context entry, once (context cached)
  EXPECT_EQ(w.b.iommu->translator().iotlb_valid(), 0u);
}

// ---------------------------------------------------------------------------------------------
// 6. IOTLB hits and merged misses.

TEST(VtdIotlb, SecondAccessToSamePageHitsAndTranslatesFaster) {
  World w;
  const uint64_t iova = 0x33000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x44000000, 1);
  w.fill(0x44000000 + 0x100, 0x1111);
  w.fill(0x44000000 + 0x200, 0x2222);
  Access first, second;
  uint64_t v1 = 0, v2 = 0, reads_after_first = 0;
  sctest::run_in_thread([&] {
    w.enable();
    align_us();
    first = w.sw().read(kRid, iova + 0x100, &v1, 8);
    reads_after_first = w.b.count("mem_read");
    align_us();
    second = w.sw().read(kRid, iova + 0x200, &v2, 8);
  });
  EXPECT_EQ(v1, 0x1111u);
  EXPECT_EQ(v2, 0x2222u);
  EXPECT_EQ(w.b.count("iotlb_miss"), 1u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 1u);
  EXPECT_EQ(w.b.count("mem_read"), reads_after_first) << "a hit reads no table entry";
  EXPECT_LT(second.latency(), first.latency());
  const auto& lat = w.b.dist("translation_latency");
  ASSERT_EQ(lat.count(), 2u);
  const uint64_t cycle_ps = 1000000 / w.b.params.clock_mhz;
  EXPECT_EQ(lat.min(), w.b.params.lookup_cycles * cycle_ps) << "a hit costs the lookup only";
  // Same data phase for both reads: the difference in completion is the difference in translation
  // (to within one memory clock, where each data read is aligned to the 1200 MHz memory clock).
  const double mem_cycle_ps = 1e6 / static_cast<double>(memory_params().clock_mhz);
  EXPECT_NEAR(static_cast<double>(first.latency() - second.latency()), static_cast<double>(lat.max() - lat.min()),
              mem_cycle_ps);
}

TEST(VtdIotlb, ConcurrentMissesToOnePageShareOneWalk) {
  World w;
  const uint64_t iova = 0x77000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x45000000, 1);
  w.fill(0x45000000, 0xAAAA);
  w.fill(0x45000008, 0xBBBB);
  Access a, b;
  uint64_t va = 0, vb = 0;
  sctest::run_in_thread([&] {
    w.enable();
    align_us();
    a = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, iova, &va, 8);
    b = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, iova + 8, &vb, 8);  // same sc_time
    EXPECT_EQ(a.start_ps, b.start_ps);
    wait_until(std::max(a.done_ps, b.done_ps));
  });
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(va, 0xAAAAu);
  EXPECT_EQ(vb, 0xBBBBu);
  EXPECT_EQ(w.b.count("walks"), 1u);
  EXPECT_EQ(w.b.count("walks_merged"), 1u);
  EXPECT_EQ(w.b.count("iotlb_miss"), 2u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 0u);
  EXPECT_EQ(w.b.count("mem_read"), 2u + 4u) << "one context fetch, one 4-level walk";
  // The merged request cannot finish before the walk it waited for.
  EXPECT_GE(b.done_ps, a.done_ps);
  const auto& lat = w.b.dist("translation_latency");
  EXPECT_EQ(lat.min(), lat.max()) << "both translations are known when the one walk ends";
}

TEST(VtdIotlb, SuperpageEntryCoversEveryAddressOfThePage) {
  World w;
  const uint64_t iova = 0x40000000;  // 1 GiB region 1, one 2 MiB leaf
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x60000000, 2);
  w.fill(0x60000000 + 0x1F0000, 0x51);
  w.fill(0x60000000 + 0x000008, 0x52);
  uint64_t a = 0, b = 0;
  sctest::run_in_thread([&] {
    w.enable();
    a = w.read_u64(kRid, iova + 0x1F0000);
    b = w.read_u64(kRid, iova + 0x8);
  });
  EXPECT_EQ(a, 0x51u);
  EXPECT_EQ(b, 0x52u);
  EXPECT_EQ(w.b.count("walks"), 1u);
  EXPECT_EQ(w.b.count("iotlb_hit"), 1u);
}

// ---------------------------------------------------------------------------------------------
// 7. Walkers.

namespace {

struct TwoMisses {
  Access a, b;
  uint64_t walk_min = 0, walker_wait_max = 0, walks = 0;
};

// Two simultaneous IOTLB misses to pages with no table entries in common (different PML4
// entries), after the context is cached; paging-structure caches off so both walks read 4 entries.
TwoMisses two_misses(unsigned walkers) {
  VtdParams p;
  p.walkers = walkers;
  for (auto& c : p.pwc) c = {0, 1, "lru"};
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t warm = 0x1000, ia = (1ULL << 39) + 0x2000, ib = (2ULL << 39) + 0x3000;
  w.t.map(top, 4, warm, 0x41000000, 1);
  w.t.map(top, 4, ia, 0x42000000, 1);
  w.t.map(top, 4, ib, 0x43000000, 1);
  w.fill(0x42000000, 0xA);
  w.fill(0x43000000, 0xB);
  TwoMisses r;
  uint64_t va = 0, vb = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, warm);
    align_us();
    r.a = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, ia, &va, 8);
    r.b = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, ib, &vb, 8);
    wait_until(std::max(r.a.done_ps, r.b.done_ps));
  });
  EXPECT_TRUE(r.a.ok());
  EXPECT_TRUE(r.b.ok());
  EXPECT_EQ(va, 0xAu);
  EXPECT_EQ(vb, 0xBu);
  r.walk_min = w.b.dist("walk_latency").min();
  r.walker_wait_max = w.b.dist("walker_wait").max();
  r.walks = w.b.count("walks");
  return r;
}

}  // namespace

TEST(VtdWalkers, OneWalkerSerialisesTwoMissesToDifferentPages) {
  const TwoMisses r = two_misses(1);
  EXPECT_EQ(r.walks, 3u);
  ASSERT_GT(r.walk_min, 0u);
  // The second walk starts when the first ends. (Each DMA's data read is aligned to the 1200 MHz
  // memory clock, so the completions may differ from the walks by less than one memory cycle.)
  const uint64_t mem_cycle_ps = (1000000 + memory_params().clock_mhz - 1) / memory_params().clock_mhz;
  EXPECT_GE(r.b.done_ps + mem_cycle_ps, r.a.done_ps + r.walk_min);
  EXPECT_GE(r.walker_wait_max, r.walk_min);
}

TEST(VtdWalkers, TwoWalkersOverlapTwoMissesToDifferentPages) {
  const TwoMisses r = two_misses(2);
  EXPECT_EQ(r.walks, 3u);
  ASSERT_GT(r.walk_min, 0u);
  const uint64_t gap = r.b.done_ps > r.a.done_ps ? r.b.done_ps - r.a.done_ps : r.a.done_ps - r.b.done_ps;
  EXPECT_LT(gap, r.walk_min) << "both walks run at once";
  EXPECT_EQ(r.walker_wait_max, 0u);
}

// ---------------------------------------------------------------------------------------------
// 8. Paging-structure caches.

namespace {

struct NeighbourWalk {
  uint64_t reads_first = 0, reads_second = 0;
  uint64_t l1_miss = 0, l2_miss = 0, l3_miss = 0;
  uint64_t walk_first = 0, walk_second = 0;
};

// One walk to page A, then a miss to A + 4 KiB (same page table, same 2 MiB region).
NeighbourWalk neighbour_walk(const VtdParams& p) {
  World w(p);
  const uint64_t a = 0x8040000000ULL + 0x5000;  // PML4 index 1, PDPT index 1, PT index 5
  const uint64_t top = w.add_device(kRid, kDid);
  w.t.map(top, 4, a, 0x46000000, 1);
  w.t.map(top, 4, a + 0x1000, 0x46100000, 1);
  w.fill(0x46100000 + 0x18, 0xCAFE);
  NeighbourWalk r;
  uint64_t got = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, a);
    r.reads_first = w.b.count("mem_read");
    got = w.read_u64(kRid, a + 0x1018);
    r.reads_second = w.b.count("mem_read") - r.reads_first;
  });
  EXPECT_EQ(got, 0xCAFEu);
  EXPECT_EQ(w.b.count("walks"), 2u);
  r.l1_miss = w.b.count("pwc_l1_miss");
  r.l2_miss = w.b.count("pwc_l2_miss");
  r.l3_miss = w.b.count("pwc_l3_miss");
  r.walk_first = w.b.dist("walk_latency").max();
  r.walk_second = w.b.dist("walk_latency").min();
  return r;
}

}  // namespace

TEST(VtdPagingStructureCache, PdeCacheHitReadsOnlyTheLeafEntry) {
  const NeighbourWalk r = neighbour_walk(VtdParams{});
  EXPECT_EQ(r.reads_first, 2u + 4u);
  EXPECT_EQ(r.reads_second, 1u);
  EXPECT_EQ(r.l1_miss, 1u);  // only the first walk missed the PDE cache
  EXPECT_EQ(r.l2_miss, 1u);
  EXPECT_EQ(r.l3_miss, 1u);
  EXPECT_LT(r.walk_second, r.walk_first);
}

TEST(VtdPagingStructureCache, WithoutPdeCacheNeighbourMissReadsPdeAndPte) {
  VtdParams p;
  p.pwc[0] = {0, 1, "lru"};
  const NeighbourWalk r = neighbour_walk(p);
  EXPECT_EQ(r.reads_first, 2u + 4u);
  EXPECT_EQ(r.reads_second, 2u);  // the PDPTE cache holds the page directory
  EXPECT_EQ(r.l1_miss, 2u);
  EXPECT_EQ(r.l2_miss, 1u);
  EXPECT_LT(r.walk_second, r.walk_first);
}

TEST(VtdPagingStructureCache, WithAllPagingCachesOffEveryWalkReadsAllLevels) {
  VtdParams p;
  for (auto& c : p.pwc) c = {0, 1, "lru"};
  const NeighbourWalk r = neighbour_walk(p);
  EXPECT_EQ(r.reads_second, 4u);
  EXPECT_EQ(r.l1_miss, 2u);
  EXPECT_EQ(r.l2_miss, 2u);
  EXPECT_EQ(r.l3_miss, 2u);
}

TEST(VtdPagingStructureCache, FiveLevelWalkStartsBelowTheDeepestCachedEntry) {
  VtdParams p;
  p.levels = {5};
  p.pwc[0] = {0, 1, "lru"};  // no PDE cache
  p.pwc[1] = {0, 1, "lru"};  // no PDPTE cache: the PML4E cache is the deepest
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t a = sample_iova(5) & ~0xFFFULL;
  const uint64_t b = a + (1ULL << 30);  // another 1 GiB region under the same PML4E
  w.t.map(top, 5, a, 0x47000000, 1);
  w.t.map(top, 5, b, 0x47100000, 1);
  uint64_t second = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, a);
    const uint64_t before = w.b.count("mem_read");
    w.read_u64(kRid, b);
    second = w.b.count("mem_read") - before;
  });
  EXPECT_EQ(second, 3u);  // PDPTE, PDE, PTE
  EXPECT_EQ(w.b.count("pwc_l4_miss"), 1u);
  EXPECT_EQ(w.b.count("pwc_l3_miss"), 1u);
  EXPECT_EQ(w.b.count("pwc_l2_miss"), 2u);
}

// ---------------------------------------------------------------------------------------------
// 9. Queued invalidation.

TEST(VtdInvalidation, StaleEntryUntilPageSelectiveInvalidationAndWaitComplete) {
  World w;
  const uint64_t a = 0x100000000ULL + 0x7000, c = 0x100000000ULL + 0x400000;  // c: another 2 MiB region
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t pte_a = w.t.map(top, 4, a, 0x48000000, 1);
  const uint64_t pte_c = w.t.map(top, 4, c, 0x48200000, 1);
  w.fill(0x48000000, 0x01);  // old frame of a
  w.fill(0x48100000, 0x02);  // new frame of a
  w.fill(0x48200000, 0x03);  // old frame of c
  w.fill(0x48300000, 0x04);  // new frame of c
  uint64_t a0 = 0, a1 = 0, a2 = 0, c0 = 0, c2 = 0;
  uint64_t iqt_at = 0, status_at = 0, iqh = 0, iqt = 0;
  const uint64_t status_addr = w.status + 0x40;
  sctest::run_in_thread([&] {
    w.enable();
    a0 = w.read_u64(kRid, a);
    c0 = w.read_u64(kRid, c);
    w.t.wr64(pte_a, 0x48100000 | vtd::SL_R | vtd::SL_W);  // software remaps both pages...
    w.t.wr64(pte_c, 0x48300000 | vtd::SL_R | vtd::SL_W);
    a1 = w.read_u64(kRid, a);  // ...the IOTLB still holds the old translation
    w.submit({iotlb_page(kDid, a, 0), wait_desc(status_addr, 0x600D, true, false)});
    iqt_at = now_ps();
    EXPECT_TRUE(w.wait_status(status_addr, 0x600D));
    status_at = now_ps();
    a2 = w.read_u64(kRid, a);
    c2 = w.read_u64(kRid, c);  // not in the invalidated range: still cached
    iqh = w.sw().read64(vtd::IQH_REG);
    iqt = w.sw().read64(vtd::IQT_REG);
  });
  EXPECT_EQ(a0, 0x01u);
  EXPECT_EQ(a1, 0x01u) << "stale until invalidated, as hardware";
  EXPECT_EQ(a2, 0x02u);
  EXPECT_EQ(c0, 0x03u);
  EXPECT_EQ(c2, 0x03u);
  EXPECT_EQ(iqh, iqt);
  EXPECT_EQ(iqt, 2u << vtd::kDescShift);
  EXPECT_GE(status_at, iqt_at + 2 * w.b.params.qi_desc_cycles * 1000000 / w.b.params.clock_mhz)
      << "each descriptor takes qi_desc_cycles";
  EXPECT_EQ(w.b.count("inv_iotlb_page"), 1u);
  EXPECT_EQ(w.b.count("inv_wait"), 1u);
  EXPECT_EQ(w.b.count("qi_descriptors"), 2u);
  EXPECT_GE(w.b.count("inv_entries_dropped"), 1u);
}

TEST(VtdInvalidation, PageSelectiveAddressMaskCoversTheAlignedRange) {
  World w;
  const uint64_t base = 0x10000000;  // 4 pages at base .. base + 0x3000, plus one beyond
  const uint64_t top = w.add_device(kRid, kDid);
  uint64_t pte[5];
  for (int i = 0; i < 5; ++i) {
    pte[i] = w.t.map(top, 4, base + 0x1000ULL * i, 0x49000000 + 0x1000ULL * i, 1);
    w.fill(0x49000000 + 0x1000ULL * i, 0x10 + i);
    w.fill(0x4A000000 + 0x1000ULL * i, 0x20 + i);
  }
  uint64_t got[5] = {};
  sctest::run_in_thread([&] {
    w.enable();
    for (int i = 0; i < 5; ++i) w.read_u64(kRid, base + 0x1000ULL * i);
    for (int i = 0; i < 5; ++i) w.t.wr64(pte[i], (0x4A000000 + 0x1000ULL * i) | vtd::SL_R | vtd::SL_W);
    w.invalidate({iotlb_page(kDid, base + 0x2000, 2)}, 7);  // AM = 2: 16 KiB aligned down to base
    for (int i = 0; i < 5; ++i) got[i] = w.read_u64(kRid, base + 0x1000ULL * i);
  });
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i], 0x20u + i) << i;
  EXPECT_EQ(got[4], 0x14u) << "outside the masked range";
}

TEST(VtdInvalidation, DomainSelectiveDropsOnlyThatDomainAndGlobalDropsAll) {
  World w;
  const uint16_t rid1 = 0x0100, rid2 = 0x0108;
  const uint64_t iova = 0x9000;
  const uint64_t p1 = w.t.map(w.add_device(rid1, 1), 4, iova, 0x4B000000, 1);
  const uint64_t p2 = w.t.map(w.add_device(rid2, 2), 4, iova, 0x4C000000, 1);
  w.fill(0x4B000000, 0x1A);
  w.fill(0x4B100000, 0x1B);
  w.fill(0x4C000000, 0x2A);
  w.fill(0x4C100000, 0x2B);
  uint64_t d1[3] = {}, d2[3] = {};
  sctest::run_in_thread([&] {
    w.enable();
    d1[0] = w.read_u64(rid1, iova);
    d2[0] = w.read_u64(rid2, iova);
    w.t.wr64(p1, 0x4B100000 | vtd::SL_R | vtd::SL_W);
    w.t.wr64(p2, 0x4C100000 | vtd::SL_R | vtd::SL_W);
    w.invalidate({iotlb_domain(1)}, 1);
    d1[1] = w.read_u64(rid1, iova);
    d2[1] = w.read_u64(rid2, iova);
    w.invalidate({iotlb_global()}, 2);
    d1[2] = w.read_u64(rid1, iova);
    d2[2] = w.read_u64(rid2, iova);
  });
  EXPECT_EQ(d1[0], 0x1Au);
  EXPECT_EQ(d2[0], 0x2Au);
  EXPECT_EQ(d1[1], 0x1Bu);
  EXPECT_EQ(d2[1], 0x2Au) << "domain 2 not invalidated yet";
  EXPECT_EQ(d1[2], 0x1Bu);
  EXPECT_EQ(d2[2], 0x2Bu);
  EXPECT_EQ(w.b.count("inv_iotlb_domain"), 1u);
  EXPECT_EQ(w.b.count("inv_iotlb_global"), 1u);
}

TEST(VtdInvalidation, PageSelectiveWithoutPsiSupportActsDomainSelective) {
  VtdParams p;
  p.psi = false;
  World w(p);
  const uint64_t top = w.add_device(kRid, kDid);
  const uint64_t pa = w.t.map(top, 4, 0x1000, 0x4D000000, 1);
  const uint64_t pb = w.t.map(top, 4, 0x80000000ULL, 0x4D200000, 1);
  w.fill(0x4D100000, 0xA1);
  w.fill(0x4D300000, 0xB1);
  uint64_t a = 0, b = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.read_u64(kRid, 0x1000);
    w.read_u64(kRid, 0x80000000ULL);
    w.t.wr64(pa, 0x4D100000 | vtd::SL_R);
    w.t.wr64(pb, 0x4D300000 | vtd::SL_R);
    w.invalidate({iotlb_page(kDid, 0x1000, 0)}, 3);
    a = w.read_u64(kRid, 0x1000);
    b = w.read_u64(kRid, 0x80000000ULL);
  });
  EXPECT_EQ(a, 0xA1u);
  EXPECT_EQ(b, 0xB1u) << "the whole domain was invalidated";
  EXPECT_EQ(w.b.count("inv_iotlb_page"), 0u);
  EXPECT_EQ(w.b.count("inv_iotlb_domain"), 1u);
}

TEST(VtdInvalidation, ContextCacheInvalidationPicksUpTheRewrittenContextEntry) {
  World w;
  const uint64_t iova = 0xB000;
  const uint64_t t1 = w.add_device(kRid, 1);
  w.t.map(t1, 4, iova, 0x4E000000, 1);
  const uint64_t t2 = w.t.alloc();
  w.t.map(t2, 4, iova, 0x4F000000, 1);
  w.fill(0x4E000000, 0xD1);
  w.fill(0x4F000000, 0xD2);
  uint64_t v[4] = {};
  uint64_t ctx_misses_before = 0;
  sctest::run_in_thread([&] {
    w.enable();
    v[0] = w.read_u64(kRid, iova);
    // Software moves the device to domain 2 with another table.
    w.t.set_context(kRid, ctx_lo(t2), ctx_hi(4, 2));
    v[1] = w.read_u64(kRid, iova);
    ctx_misses_before = w.b.count("ctxt_miss");
    w.invalidate({context_device(1, kRid + 1)}, 1);  // another function: not this device
    v[2] = w.read_u64(kRid, iova);
    w.invalidate({context_device(1, kRid)}, 2);
    v[3] = w.read_u64(kRid, iova);
  });
  EXPECT_EQ(v[0], 0xD1u);
  EXPECT_EQ(v[1], 0xD1u) << "cached context entry";
  EXPECT_EQ(v[2], 0xD1u) << "device-selective for another source id";
  EXPECT_EQ(v[3], 0xD2u);
  EXPECT_EQ(w.b.count("ctxt_miss"), ctx_misses_before + 1);
  EXPECT_EQ(w.b.count("inv_context_device"), 2u);
}

TEST(VtdInvalidation, FunctionMaskedAndGlobalContextInvalidationsDropEveryMatchingEntry) {
  World w;
  const uint16_t f0 = 0x0300, f5 = 0x0305, other_dev = 0x0310;  // 03:00.0, 03:00.5, 03:02.0
  for (uint16_t rid : {f0, f5, other_dev}) w.t.map(w.add_device(rid, 1), 4, 0x1000, 0x50000000, 1);
  uint64_t misses_none = 0, misses_masked = 0, misses_global = 0;
  sctest::run_in_thread([&] {
    w.enable();
    auto refetches = [&] {
      const uint64_t m = w.b.count("ctxt_miss");
      for (uint16_t rid : {f0, f5, other_dev}) w.read_u64(rid, 0x1000);
      return w.b.count("ctxt_miss") - m;
    };
    refetches();
    misses_none = refetches();  // all cached
    // FM = 3 masks function bits 2:0: every function of device 0 goes, device 2 stays.
    w.invalidate({context_device(1, f0, 3)}, 1);
    misses_masked = refetches();
    w.invalidate({context_global()}, 2);
    misses_global = refetches();
  });
  EXPECT_EQ(misses_none, 0u);
  EXPECT_EQ(misses_masked, 2u);
  EXPECT_EQ(misses_global, 3u);
  EXPECT_EQ(w.b.count("inv_context_global"), 1u);
}

TEST(VtdInvalidation, WaitDescriptorWithInterruptFlagRaisesInvalidationEvent) {
  World w;
  uint32_t ics = 0, ics_cleared = 0;
  size_t before = 0;
  uint64_t submitted = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::IEDATA_REG, 0x0C0DE);
    w.sw().write32(vtd::IEADDR_REG, 0xFEE02000);
    w.sw().write32(vtd::IECTL_REG, 0);  // unmask
    before = w.b.irqs.size();
    submitted = now_ps();
    w.submit({wait_desc(0, 0, false, true)});
    EXPECT_TRUE(w.poll([&] { return !w.b.irqs.empty(); }));
    ics = w.sw().read32(vtd::ICS_REG);
    w.sw().write32(vtd::ICS_REG, vtd::ICS_IWC);
    ics_cleared = w.sw().read32(vtd::ICS_REG);
  });
  EXPECT_EQ(before, 0u);
  ASSERT_EQ(w.b.irqs.size(), 1u);
  EXPECT_EQ(w.b.irqs[0].addr, 0xFEE02000u);
  EXPECT_EQ(w.b.irqs[0].data, 0x0C0DEu);
  EXPECT_GT(w.b.irqs[0].ps, submitted);
  EXPECT_TRUE(ics & vtd::ICS_IWC);
  EXPECT_FALSE(ics_cleared & vtd::ICS_IWC);
  EXPECT_EQ(w.b.count("inv_wait"), 1u);
}

TEST(VtdInvalidation, InvalidationEventHeldWhileMaskedAndDeliveredOnUnmask) {
  World w;
  uint32_t iectl = 0, iectl_after = 0, ics = 0;
  size_t masked = 0;
  uint64_t unmask_at = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::IEDATA_REG, 0x55);
    w.sw().write32(vtd::IEADDR_REG, 0xFEE03000);
    w.invalidate({wait_desc(0, 0, false, true)}, 9);  // IM set at reset
    masked = w.b.irqs.size();
    iectl = w.sw().read32(vtd::IECTL_REG);
    ics = w.sw().read32(vtd::ICS_REG);
    unmask_at = now_ps();
    w.sw().write32(vtd::IECTL_REG, 0);
    iectl_after = w.sw().read32(vtd::IECTL_REG);
  });
  EXPECT_EQ(masked, 0u);
  EXPECT_TRUE(iectl & vtd::ECTL_IM);
  EXPECT_TRUE(iectl & vtd::ECTL_IP);
  EXPECT_TRUE(ics & vtd::ICS_IWC);
  ASSERT_EQ(w.b.irqs.size(), 1u);
  EXPECT_EQ(w.b.irqs[0].data, 0x55u);
  EXPECT_EQ(w.b.irqs[0].addr, 0xFEE03000u);
  EXPECT_GE(w.b.irqs[0].ps, unmask_at);
  EXPECT_FALSE(iectl_after & vtd::ECTL_IP);
}

TEST(VtdInvalidation, InvalidDescriptorSetsIqeAndStopsTheHeadAtIt) {
  World w;
  const uint64_t s1 = w.status, s2 = w.status + 4;
  uint32_t fsts_err = 0, fsts_ok = 0;
  uint64_t iqh_err = 0, iqh_ok = 0;
  uint32_t s2_during = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.submit({wait_desc(s1, 1, true, false), Desc{0x7, 0}, wait_desc(s2, 2, true, false)});  // type 7: not legacy
    EXPECT_TRUE(w.wait_status(s1, 1));
    wait_ns(2000);
    fsts_err = w.sw().read32(vtd::FSTS_REG);
    iqh_err = w.sw().read64(vtd::IQH_REG);
    s2_during = w.status_word(s2);
    // Software fixes the descriptor (an interrupt-entry-cache invalidation: a no-op here) and clears IQE.
    w.t.wr64(w.iq + 16, vtd::QI_IEC_TYPE);
    w.sw().write32(vtd::FSTS_REG, vtd::FSTS_IQE);
    EXPECT_TRUE(w.wait_status(s2, 2));
    // The status word is in memory as soon as its write is issued; IQH moves past the wait
    // descriptor when that write completes.
    EXPECT_TRUE(w.poll([&] { return w.sw().read64(vtd::IQH_REG) == (3u << vtd::kDescShift); }, 100));
    fsts_ok = w.sw().read32(vtd::FSTS_REG);
    iqh_ok = w.sw().read64(vtd::IQH_REG);
  });
  EXPECT_TRUE(fsts_err & vtd::FSTS_IQE);
  EXPECT_EQ(iqh_err, 1u << vtd::kDescShift) << "IQH stays on the bad descriptor";
  EXPECT_EQ(s2_during, 0u) << "nothing after the bad descriptor ran";
  EXPECT_FALSE(fsts_ok & vtd::FSTS_IQE);
  EXPECT_EQ(iqh_ok, 3u << vtd::kDescShift);
  EXPECT_EQ(w.b.count("qi_errors"), 1u);
}

TEST(VtdInvalidation, QueueErrorIsAFaultEventDeliveredNowOrOnUnmask) {
  World w;
  size_t unmasked_irqs = 0, masked_irqs = 0;
  uint32_t fectl_masked = 0;
  sctest::run_in_thread([&] {
    w.enable();
    w.sw().write32(vtd::FEDATA_REG, 0x66);
    w.sw().write32(vtd::FEADDR_REG, 0xFEE04000);
    w.sw().write32(vtd::FECTL_REG, 0);
    w.submit({Desc{0, 0}});  // type 0: invalid
    EXPECT_TRUE(w.poll([&] { return w.sw().read32(vtd::FSTS_REG) & vtd::FSTS_IQE; }));
    unmasked_irqs = w.b.irqs.size();
    // Mask, fix the descriptor, clear IQE, then queue another bad one.
    w.sw().write32(vtd::FECTL_REG, vtd::ECTL_IM);
    w.t.wr64(w.iq, vtd::QI_IEC_TYPE);
    w.sw().write32(vtd::FSTS_REG, vtd::FSTS_IQE);
    w.submit({Desc{0xF, 0}});
    EXPECT_TRUE(w.poll([&] { return w.sw().read32(vtd::FSTS_REG) & vtd::FSTS_IQE; }));
    masked_irqs = w.b.irqs.size();
    fectl_masked = w.sw().read32(vtd::FECTL_REG);
    w.sw().write32(vtd::FECTL_REG, 0);
  });
  EXPECT_EQ(unmasked_irqs, 1u);
  EXPECT_EQ(masked_irqs, 1u);
  EXPECT_TRUE(fectl_masked & vtd::ECTL_IP) << "a masked fault event sets FECTL.IP";
  ASSERT_EQ(w.b.irqs.size(), 2u) << "delivered when software unmasks";
  for (const auto& irq : w.b.irqs) {
    EXPECT_EQ(irq.addr, 0xFEE04000u);
    EXPECT_EQ(irq.data, 0x66u);
  }
}

// ---------------------------------------------------------------------------------------------
// 10. Registers.

TEST(VtdRegisters, CapAndEcapDecodeToTheParameters) {
  VtdParams p;
  p.levels = {3, 5};
  p.fault_records = 4;
  p.domain_bits = 8;
  p.psi = false;
  p.mamv = 9;
  p.superpage_1g = false;
  p.pass_through = false;
  p.coherent = false;
  World w(p);
  uint64_t cap = 0, ecap = 0, cap_halves = 0;
  uint32_t ver = 0;
  sctest::run_in_thread([&] {
    cap = w.sw().read64(vtd::CAP_REG);
    ecap = w.sw().read64(vtd::ECAP_REG);
    cap_halves = w.sw().read32(vtd::CAP_REG) | (static_cast<uint64_t>(w.sw().read32(vtd::CAP_REG + 4)) << 32);
    ver = w.sw().read32(vtd::VER_REG);
  });
  EXPECT_EQ(ver, 0x10u);
  EXPECT_EQ(cap_halves, cap);
  EXPECT_EQ(vtd::cap_nfr(cap), 4u);
  EXPECT_EQ(vtd::cap_sagaw(cap), (1u << 1) | (1u << 3));  // 39-bit and 57-bit
  EXPECT_EQ(vtd::cap_mgaw(cap), 57u);
  EXPECT_EQ(vtd::cap_sllps(cap), 1u);  // 2 MiB only
  EXPECT_FALSE(vtd::cap_psi(cap));
  EXPECT_EQ(vtd::cap_mamv(cap), 9u);
  EXPECT_EQ(1u << (4 + 2 * vtd::cap_nd(cap)), 1u << 8);
  const uint32_t fro = vtd::cap_fro(cap);
  EXPECT_GE(fro, 0x100u) << "records above the architectural registers";
  EXPECT_LE(fro + 16 * vtd::cap_nfr(cap), vtd::kRegSize);
  EXPECT_TRUE(ecap & vtd::ECAP_QI);
  EXPECT_FALSE(ecap & vtd::ECAP_PT);
  EXPECT_FALSE(ecap & vtd::ECAP_C);
  EXPECT_FALSE(ecap & vtd::ECAP_DT);
  const uint32_t iro = vtd::ecap_iro(ecap);
  EXPECT_TRUE(iro + 16 <= fro || fro + 16 * vtd::cap_nfr(cap) <= iro) << "IOTLB registers overlap the records";
}

TEST(VtdRegisters, DefaultCapabilitiesAdvertiseFourLevelsSuperpagesAndPsi) {
  World w;
  uint64_t cap = 0, ecap = 0;
  sctest::run_in_thread([&] {
    cap = w.sw().read64(vtd::CAP_REG);
    ecap = w.sw().read64(vtd::ECAP_REG);
  });
  const VtdParams d;
  EXPECT_EQ(vtd::cap_sagaw(cap), 1u << 2);
  EXPECT_EQ(vtd::cap_mgaw(cap), 48u);
  EXPECT_EQ(vtd::cap_sllps(cap), 3u);
  EXPECT_TRUE(vtd::cap_psi(cap));
  EXPECT_EQ(vtd::cap_mamv(cap), d.mamv);
  EXPECT_EQ(vtd::cap_nfr(cap), d.fault_records);
  EXPECT_EQ(1u << (4 + 2 * vtd::cap_nd(cap)), 1u << d.domain_bits);
  EXPECT_TRUE(ecap & vtd::ECAP_PT);
  EXPECT_TRUE(ecap & vtd::ECAP_C);
  EXPECT_TRUE(ecap & vtd::ECAP_QI);
}

TEST(VtdRegisters, ManyFaultRecordsLiveWhereCapFroSays) {
  VtdParams p;
  p.fault_records = 20;
  World w(p);
  w.add_device(kRid, kDid);
  uint64_t cap = 0, ecap = 0;
  Frcd rec;
  sctest::run_in_thread([&] {
    w.enable();
    cap = w.sw().read64(vtd::CAP_REG);
    ecap = w.sw().read64(vtd::ECAP_REG);
    uint64_t v = 0;
    w.sw().read(kRid, 0x5000, &v, 8);
    rec = w.frcd(0);
  });
  const uint32_t fro = vtd::cap_fro(cap), iro = vtd::ecap_iro(ecap);
  EXPECT_EQ(vtd::cap_nfr(cap), 20u);
  EXPECT_LE(fro + 16u * 20, vtd::kRegSize);
  EXPECT_TRUE(iro + 16 <= fro || fro + 16 * 20 <= iro);
  EXPECT_GE(fro, 0x100u);
  EXPECT_TRUE(rec.f());
  EXPECT_EQ(rec.page(), 0x5000u);
  EXPECT_EQ(rec.reason(), 6u);
}

TEST(VtdRegisters, UnknownOffsetsAndBadSizesReadHarmlessly) {
  World w;
  uint32_t unknown = 0x1234, far = 0, beyond = 0, misaligned = 0;
  uint64_t cap_before = 0, cap_after = 0, rta = 0;
  uint32_t rta_lo = 0, rta_hi = 0;
  tlm::tlm_response_status st = tlm::TLM_INCOMPLETE_RESPONSE;
  uint64_t small = 0;
  sctest::run_in_thread([&] {
    cap_before = w.sw().read64(vtd::CAP_REG);
    unknown = w.sw().read32(0x60);
    st = w.sw().last_reg_status;
    far = w.sw().read32(0xFF0);
    beyond = w.sw().read32(vtd::kRegSize);  // first byte past the page
    misaligned = w.sw().read32(0x0A);
    small = w.sw().reg_read(0x00, 2);
    w.sw().write32(0x60, 0xFFFFFFFF);
    w.sw().write64(0xFF0, ~0ULL);
    w.sw().write32(vtd::CAP_REG, 0);  // read-only
    cap_after = w.sw().read64(vtd::CAP_REG);
    // RTADDR written as two 32-bit halves reads back as one 64-bit value.
    w.sw().write32(vtd::RTADDR_REG, 0x12345000);
    w.sw().write32(vtd::RTADDR_REG + 4, 0x3);
    rta = w.sw().read64(vtd::RTADDR_REG);
    rta_lo = w.sw().read32(vtd::RTADDR_REG);
    rta_hi = w.sw().read32(vtd::RTADDR_REG + 4);
  });
  EXPECT_EQ(st, tlm::TLM_OK_RESPONSE);
  EXPECT_TRUE(unknown == 0 || unknown == 0xFFFFFFFFu) << std::hex << unknown;
  EXPECT_TRUE(far == 0 || far == 0xFFFFFFFFu) << std::hex << far;
  EXPECT_EQ(beyond, 0xFFFFFFFFu);
  EXPECT_EQ(misaligned, 0xFFFFFFFFu);
  EXPECT_TRUE(small == 0xFFFF || small == 0x10) << std::hex << small;
  EXPECT_EQ(cap_after, cap_before);
  EXPECT_EQ(rta, 0x312345000ULL);
  EXPECT_EQ(rta_lo, 0x12345000u);
  EXPECT_EQ(rta_hi, 0x3u);
}

TEST(VtdRegisters, RegisterAccessTakesRegisterCycles) {
  VtdParams p;
  p.register_cycles = 25;
  World w(p);
  uint64_t t0 = 0, t1 = 0;
  sctest::run_in_thread([&] {
    align_us();
    t0 = now_ps();
    w.sw().read32(vtd::VER_REG);
    t1 = now_ps();
  });
  EXPECT_EQ(t1 - t0, 25u * 1000000 / p.clock_mhz);
}

TEST(VtdRegisters, QueueRegistersReadBackAndEnablingQiResetsTheHead) {
  World w;
  uint64_t iqa = 0, iqh = 0, iqt = 0;
  uint32_t gsts = 0;
  sctest::run_in_thread([&] {
    w.enable();
    iqa = w.sw().read64(vtd::IQA_REG);
    iqh = w.sw().read64(vtd::IQH_REG);
    iqt = w.sw().read64(vtd::IQT_REG);
    gsts = w.sw().read32(vtd::GSTS_REG);
  });
  EXPECT_EQ(vtd::iqa_base(iqa), w.iq);
  EXPECT_EQ(vtd::iqa_qs(iqa), 0u);
  EXPECT_EQ(iqh, 0u);
  EXPECT_EQ(iqt, 0u);
  EXPECT_TRUE(gsts & vtd::GSTS_RTPS);
  EXPECT_TRUE(gsts & vtd::GSTS_TES);
  EXPECT_TRUE(gsts & vtd::GSTS_QIES);
}

// ---------------------------------------------------------------------------------------------
// 11. SetAssocCache and replacement policies (no SystemC).

namespace {
using Cache = iommu::SetAssocCache<int>;
bool has(Cache& c, uint64_t key, uint64_t index = 0) { return c.lookup(key, index) != nullptr; }
}  // namespace

TEST(VtdCache, LruEvictsTheLeastRecentlyUsedWay) {
  Cache c({4, 4, "lru"}, Rng(1));
  ASSERT_TRUE(c.enabled());
  EXPECT_EQ(c.sets(), 1u);
  for (uint64_t k = 1; k <= 4; ++k) EXPECT_FALSE(c.insert(k, 0, 0, static_cast<int>(k), 0));
  EXPECT_EQ(c.valid(), 4u);
  ASSERT_TRUE(has(c, 1));  // 1 is now the most recent; 2 the least
  ASSERT_TRUE(has(c, 3));
  EXPECT_TRUE(c.insert(5, 0, 0, 5, 0));
  EXPECT_FALSE(has(c, 2));
  EXPECT_TRUE(has(c, 1));
  EXPECT_TRUE(has(c, 3));
  EXPECT_TRUE(has(c, 4));
  EXPECT_TRUE(has(c, 5));
  // 1, 3, 4, 5 were touched in that order just above: 1 is now the least recently used.
  EXPECT_TRUE(c.insert(6, 0, 0, 6, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_EQ(c.valid(), 4u);
}

TEST(VtdCache, FifoEvictsTheOldestFillRegardlessOfHits) {
  Cache c({4, 4, "fifo"}, Rng(1));
  for (uint64_t k = 1; k <= 4; ++k) c.insert(k, 0, 0, static_cast<int>(k), 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(has(c, 1));  // hits do not protect 1
  EXPECT_TRUE(c.insert(5, 0, 0, 5, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_TRUE(has(c, 2));
  EXPECT_TRUE(c.insert(6, 0, 0, 6, 0));
  EXPECT_FALSE(has(c, 2));
  EXPECT_TRUE(has(c, 3));
}

TEST(VtdCache, RandomReplacementIsDeterministicForASeed) {
  auto survivors = [](uint64_t seed) {
    Cache c({8, 8, "random"}, Rng(seed));
    std::vector<uint64_t> out;
    for (uint64_t k = 1; k <= 40; ++k) c.insert(k, 0, 0, 0, 0);
    for (uint64_t k = 1; k <= 40; ++k)
      if (c.lookup(k, 0)) out.push_back(k);
    return out;
  };
  const auto a = survivors(42), b = survivors(42);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_TRUE(std::find(a.begin(), a.end(), 40u) != a.end()) << "the last fill is present";
  bool any_differs = false;
  for (uint64_t seed = 1; seed <= 8 && !any_differs; ++seed) any_differs = survivors(seed) != a;
  EXPECT_TRUE(any_differs) << "the seed matters";
}

TEST(VtdCache, ZeroEntriesDisablesTheCache) {
  Cache c({0, 1, "lru"}, Rng(1));
  EXPECT_FALSE(c.enabled());
  EXPECT_FALSE(c.insert(1, 0, 0, 1, 0));
  EXPECT_FALSE(has(c, 1));
  EXPECT_EQ(c.valid(), 0u);
  EXPECT_EQ(c.invalidate_all(), 0u);
}

TEST(VtdCache, InvalidateIfDropsMatchingEntriesAndCountsThem) {
  Cache c({8, 2, "lru"}, Rng(1));  // 4 sets
  for (uint64_t k = 0; k < 6; ++k) c.insert(k, k, static_cast<uint16_t>(k % 2 ? 1 : 2), 0, 0);
  EXPECT_EQ(c.valid(), 6u);
  EXPECT_EQ(c.invalidate_if([](const Cache::Entry& e) { return e.did == 1; }), 3u);
  EXPECT_EQ(c.valid(), 3u);
  for (uint64_t k = 0; k < 6; ++k) EXPECT_EQ(has(c, k, k), k % 2 == 0) << k;
  EXPECT_EQ(c.invalidate_if([](const Cache::Entry& e) { return e.did == 1; }), 0u);
  EXPECT_EQ(c.invalidate_all(), 3u);
  EXPECT_EQ(c.valid(), 0u);
}

TEST(VtdCache, IndexSelectsTheSetSoOtherSetsAreUnaffected) {
  Cache c({8, 2, "lru"}, Rng(1));  // 4 sets of 2
  EXPECT_EQ(c.sets(), 4u);
  EXPECT_EQ(c.ways(), 2u);
  c.insert(100, 1, 0, 0, 0);  // set 1
  c.insert(10, 0, 0, 0, 0);   // set 0
  c.insert(20, 4, 0, 0, 0);   // set 0
  EXPECT_TRUE(c.insert(30, 8, 0, 0, 0));  // set 0 full: evicts 10 (LRU)
  EXPECT_FALSE(has(c, 10, 0));
  EXPECT_TRUE(has(c, 100, 1));
  EXPECT_FALSE(has(c, 100, 2)) << "looked up in the wrong set";
  EXPECT_EQ(c.valid(), 3u);
}

TEST(VtdCache, ReinsertingAKeyReplacesItInPlace) {
  Cache c({4, 4, "lru"}, Rng(1));
  EXPECT_FALSE(c.insert(7, 0, 3, 1, 100));
  EXPECT_FALSE(c.insert(7, 0, 3, 2, 200));
  EXPECT_EQ(c.valid(), 1u);
  auto* e = c.lookup(7, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, 2);
  EXPECT_EQ(e->ready_ps, 200u);
  EXPECT_EQ(c.invalidate_all(), 1u);
  EXPECT_EQ(c.valid(), 0u);
}

TEST(VtdCache, UnknownReplacementPolicyIsRejected) {
  EXPECT_THROW(iommu::make_policy("plru", 1, 4, Rng(1)), std::invalid_argument);
}

TEST(GapResource, BookingInTheFutureLeavesAnEarlierGapUsable) {
  GapResource g;
  EXPECT_EQ(g.reserve(100, 10, 0), 100u);  // [100, 110)
  EXPECT_EQ(g.reserve(0, 10, 0), 0u);      // ready now: not held up by the future booking
  EXPECT_EQ(g.reserve(5, 20, 0), 10u);     // [10, 30) fits before 100
  EXPECT_EQ(g.reserve(95, 10, 0), 110u);   // [95, 105) would overlap: after 110
  EXPECT_EQ(g.reserve(80, 20, 0), 80u);    // exactly fills [80, 100)
  EXPECT_EQ(g.busy_cycles(), 70u);
  EXPECT_EQ(g.waited_cycles(), 5u + 15u);
}

TEST(GapResource, InOrderBookingsBehaveLikeCycleResource) {
  GapResource g;
  CycleResource c;
  const std::vector<std::pair<uint64_t, uint64_t>> reqs = {{0, 4}, {1, 4}, {2, 1}, {20, 3}, {20, 3}, {22, 10}, {50, 1}};
  for (const auto& [at, n] : reqs) EXPECT_EQ(g.reserve(at, n, at), c.reserve(at, n)) << at;
  EXPECT_EQ(g.busy_cycles(), c.busy_cycles());
  EXPECT_EQ(g.waited_cycles(), c.waited_cycles());
}

TEST(GapResource, AdjacentIntervalsMergeAndPastOnesArePruned) {
  GapResource g;
  g.reserve(0, 10, 0);
  g.reserve(10, 10, 0);
  EXPECT_EQ(g.intervals(), 1u);
  g.reserve(40, 5, 0);
  EXPECT_EQ(g.intervals(), 2u);
  g.reserve(100, 1, 100);  // appended after everything: past intervals are kept for now
  EXPECT_EQ(g.intervals(), 3u);
  // Pruning is lazy on the append path: once more than 32 intervals accumulate, the ones that
  // ended before the current cycle go.
  for (uint64_t i = 0; i < 40; ++i) g.reserve(200 + 10 * i, 1, 200 + 10 * i);
  EXPECT_LE(g.intervals(), 33u);
  // A booking in a gap (the slow path) prunes at once.
  g.reserve(1000, 1, 1000);
  g.reserve(995, 1, 995);
  EXPECT_LE(g.intervals(), 3u);
}

// ---------------------------------------------------------------------------------------------
// 12. VtdParams spec and presets.

namespace {

std::shared_ptr<const config::ObjectSpec> root_spec() {
  static const auto root = [] {
    auto r = std::make_shared<config::ObjectSpec>("root", "test root");
    r->add(config::Field::object_of("iommu", VtdParams::spec()).defaults(json::object()).describe("IOMMU"));
    return r;
  }();
  return root;
}

std::vector<config::Issue> issues_of(const json& doc, std::string* what = nullptr) {
  try {
    config::resolve_document(root_spec(), doc);
  } catch (const config::ConfigError& e) {
    if (what) *what = e.what();
    return e.issues();
  }
  return {};
}

void expect_single_issue_at(const json& doc, const std::string& pointer) {
  std::string what;
  const auto issues = issues_of(doc, &what);
  ASSERT_EQ(issues.size(), 1u) << doc.dump() << "\n" << what;
  EXPECT_EQ(issues[0].pointer, pointer) << issues[0].message;
  EXPECT_NE(what.find(pointer), std::string::npos) << what;
}

}  // namespace

TEST(VtdParamsSpec, WaysNotDividingEntriesIsRejectedAtTheWaysPointer) {
  expect_single_issue_at({{"iommu", {{"iotlb", {{"entries", 64}, {"ways", 3}}}}}}, "/iommu/iotlb/ways");
  expect_single_issue_at({{"iommu", {{"pwc", {{"l2", {{"entries", 4}, {"ways", 8}}}}}}}}, "/iommu/pwc/l2/ways");
}

TEST(VtdParamsSpec, LevelSixIsRejectedAtItsIndex) {
  expect_single_issue_at({{"iommu", {{"levels", {4, 6}}}}}, "/iommu/levels/1");
  expect_single_issue_at({{"iommu", {{"levels", {4, 4}}}}}, "/iommu/levels/1");
}

TEST(VtdParamsSpec, ZeroWalkersIsRejected) { expect_single_issue_at({{"iommu", {{"walkers", 0}}}}, "/iommu/walkers"); }

TEST(VtdParamsSpec, OddDomainBitsAreRejected) {
  expect_single_issue_at({{"iommu", {{"domain_bits", 7}}}}, "/iommu/domain_bits");
}

TEST(VtdParamsSpec, EmptyObjectResolvesToTheStructDefaults) {
  const json r = config::resolve_document(root_spec(), json::object());
  const VtdParams p = VtdParams::from(r.at("iommu")), d;
  EXPECT_EQ(p.base, d.base);
  EXPECT_EQ(p.levels, d.levels);
  EXPECT_EQ(p.fault_records, d.fault_records);
  EXPECT_EQ(p.walkers, d.walkers);
  EXPECT_EQ(p.iotlb.entries, d.iotlb.entries);
  EXPECT_EQ(p.iotlb.ways, d.iotlb.ways);
  EXPECT_EQ(p.pwc[0].entries, d.pwc[0].entries);
  EXPECT_EQ(p.lookup_cycles, d.lookup_cycles);
  EXPECT_EQ(p.cap(), d.cap());
  EXPECT_EQ(p.ecap(), d.ecap());
}

TEST(VtdParamsSpec, BroadwellPresetFillsFieldsAndWrittenFieldsWin) {
  const json written = {{"preset", "broadwell-vtd"}, {"walkers", 2}, {"pwc", {{"l1", {{"entries", 8}}}}}};
  const json expanded = VtdParams::expand_preset(written);
  EXPECT_EQ(expanded["walkers"], 2);
  EXPECT_EQ(expanded["pwc"]["l1"]["entries"], 8);
  EXPECT_TRUE(expanded["pwc"].contains("l2")) << "preset fields next to written ones stay";
  const json r = config::resolve_document(root_spec(), {{"iommu", expanded}});
  const VtdParams p = VtdParams::from(r.at("iommu")), d;
  EXPECT_EQ(p.walkers, 2u);
  EXPECT_EQ(p.pwc[0].entries, 8u);
  EXPECT_NE(p.fabric_cycles, d.fabric_cycles) << "the preset sets the fabric latency";
  EXPECT_EQ(p.fabric_cycles, 25u);
  EXPECT_EQ(p.pwc[3].entries, 0u);
  EXPECT_EQ(p.levels, std::vector<unsigned>{4});
  // Unknown or absent presets leave the layer as written.
  const json plain = {{"walkers", 3}};
  EXPECT_EQ(VtdParams::expand_preset(plain), plain);
  const json unknown = {{"preset", "nope"}, {"walkers", 3}};
  EXPECT_EQ(VtdParams::expand_preset(unknown), unknown);
  const auto names = VtdParams::preset_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "broadwell-vtd"), names.end());
  EXPECT_FALSE(issues_of({{"iommu", {{"preset", "nope"}}}}).empty()) << "unknown preset names are rejected";
}
