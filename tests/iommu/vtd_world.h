// Testbench of the VT-d model tests: a PCIe device and a CPU initiator, the IOMMU and host memory;
// software-side helpers that build root/context/page tables and invalidation descriptors in memory
// through the backdoor and program the unit by MMIO (World).
#pragma once

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

namespace vfiosim::vtd_test {

using iommu::VtdParams;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Testbench: a device + CPU initiator, the IOMMU and host memory.

inline constexpr uint64_t kUs = 1000000;  // picoseconds

inline uint64_t now_ps() { return ClockDomain::to_ps(sc_core::sc_time_stamp()); }

inline void wait_until(uint64_t ps) {
  if (ps > now_ps()) sc_core::wait(ClockDomain::to_time(ps - now_ps()));
}
inline void wait_ns(uint64_t ns) { sc_core::wait(sc_core::sc_time(static_cast<double>(ns), sc_core::SC_NS)); }
/// Waits to the next whole microsecond: a cycle boundary of both the 1000 MHz IOMMU and the
/// 1200 MHz memory, so latencies measured from there have no alignment slack.
inline void align_us() { wait_until((now_ps() / kUs + 1) * kUs); }

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
  Access dma_issue(uint16_t rid, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len,
                   pci::AddressType at = pci::AddressType::Untranslated) {
    tlm::tlm_generic_payload t;
    setup_payload(t, cmd, addr, static_cast<uint8_t*>(data), len);
    pci::PcieExtension ext;
    ext.rid = rid;
    ext.at = at;
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

inline MemoryParams memory_params() {
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

inline unsigned shift_of(unsigned level) { return 12 + 9 * (level - 1); }
inline unsigned index_of(uint64_t iova, unsigned level) { return static_cast<unsigned>((iova >> shift_of(level)) & 0x1FF); }
inline uint64_t page_size(unsigned leaf) { return 1ULL << shift_of(leaf); }

inline uint64_t ctx_lo(uint64_t slptptr, uint64_t tt = vtd::CTX_TT_MULTI_LEVEL, bool fpd = false) {
  return slptptr | (tt << 2) | (fpd ? vtd::CTX_FPD : 0) | vtd::CTX_P;
}
inline uint64_t ctx_hi(unsigned levels, uint16_t did) { return (levels - 2) | (static_cast<uint64_t>(did) << 8); }

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

inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

struct Desc {
  uint64_t lo, hi;
};
inline Desc iotlb_page(uint16_t did, uint64_t addr, unsigned am, bool ih = false) {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranPage) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW |
              vtd::qi_did_field(did),
          (addr & ~0xFFFULL) | (ih ? vtd::QI_IOTLB_IH : 0) | am};
}
inline Desc iotlb_domain(uint16_t did) {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranDomain) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW |
              vtd::qi_did_field(did),
          0};
}
inline Desc iotlb_global() {
  return {vtd::QI_IOTLB_TYPE | vtd::qi_gran_field(vtd::kGranGlobal) | vtd::QI_IOTLB_DR | vtd::QI_IOTLB_DW, 0};
}
inline Desc context_device(uint16_t did, uint16_t sid, unsigned fm = 0) {
  return {vtd::QI_CC_TYPE | vtd::qi_gran_field(vtd::kGranPage) | vtd::qi_did_field(did) | vtd::qi_sid_field(sid) |
              (static_cast<uint64_t>(fm) << 48),
          0};
}
inline Desc context_global() { return {vtd::QI_CC_TYPE | vtd::qi_gran_field(vtd::kGranGlobal), 0}; }
inline Desc wait_desc(uint64_t status_addr, uint32_t status, bool sw, bool intr) {
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

inline constexpr uint16_t kRid = 0x0308;  // 03:01.0
inline constexpr uint16_t kDid = 5;

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
inline uint64_t sample_iova(unsigned levels) {
  const unsigned idx[6] = {0, 0x013, 0x057, 0x1A5, 0x0C3, 0x021};
  uint64_t iova = 0xABC;
  for (unsigned l = 1; l <= levels; ++l) iova |= static_cast<uint64_t>(idx[l]) << shift_of(l);
  return iova;
}

// ---------------------------------------------------------------------------------------------
// 1. Translation: data comes from and goes to the translated address.

inline void check_translation(unsigned levels, unsigned leaf) {
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

}  // namespace vfiosim::vtd_test
