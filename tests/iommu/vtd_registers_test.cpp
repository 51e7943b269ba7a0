// VT-d model: CAP/ECAP from the parameters, register layout and access timing, queue registers.
#include "tests/iommu/vtd_world.h"

using namespace vfiosim;
using namespace vfiosim::vtd_test;

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
