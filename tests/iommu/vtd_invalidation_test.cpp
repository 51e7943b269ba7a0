// VT-d model: queued invalidation (IOTLB page/domain/global, context cache), wait descriptors,
// the invalidation-event interrupt and queue errors.
#include "tests/iommu/vtd_world.h"

using namespace vfiosim;
using namespace vfiosim::vtd_test;

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
