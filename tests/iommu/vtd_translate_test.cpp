// VT-d model: translation through 3-, 4- and 5-level tables, pass-through, and every fault reason
// with the fault-recording registers and the fault-event interrupt.
#include "tests/iommu/vtd_world.h"

using namespace vfiosim;
using namespace vfiosim::vtd_test;

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

TEST(VtdFault, TranslatedRequestWithoutDeviceTlbIsReason0xD) {
  // AT = Translated bypasses the tables only where the context enables Device-TLBs (TT = 01b);
  // a multi-level context blocks it: fault reason 0xD, no memory access.
  World w;
  const uint64_t iova = 0x6000;
  w.t.map(w.add_device(kRid, kDid), 4, iova, 0x30000000, 1);
  w.fill(0x6000, 0x1234);
  Access a;
  uint64_t v = 0;
  sctest::run_in_thread([&] {
    w.enable();
    a = w.sw().dma_issue(kRid, tlm::TLM_READ_COMMAND, 0x6000, &v, 8, pci::AddressType::Translated);
    wait_until(a.done_ps);
  });
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(w.b.faults_of_reason(vtd::kTranslationBlocked), 1u);
  EXPECT_EQ(w.b.count("walks"), 0u);
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
