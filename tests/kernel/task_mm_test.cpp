// Simulated userspace address spaces: anonymous 4 KiB and 2 MiB hugetlb areas backed by simulated
// memory, host-backed argument areas, copy_{from,to}_user / strndup_user / pin_user_pages with
// their faults.
#include "tests/kernel/task_machine.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::task_test;

// ---- address space ----

TEST(TaskMm, MmapAnonymousReturnsDistinctPageAlignedAreas) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const std::vector<uint64_t> lens = {1, kPage, 5000, 3 * kPage, 1, 100 * kPage};
  std::vector<const vm_area*> areas;
  for (uint64_t len : lens) {
    const uint64_t a = t.mmap_anonymous(len, false);
    ASSERT_NE(a, 0u);
    EXPECT_TRUE(is_aligned(a, kPage)) << std::hex << a;
    const vm_area* v = t.find_vma(a);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->start, a);
    EXPECT_EQ(v->end - v->start, (len + kPage - 1) / kPage * kPage);
    EXPECT_FALSE(v->hugetlb);
    EXPECT_FALSE(v->host);
    areas.push_back(v);
  }
  for (size_t i = 0; i < areas.size(); ++i)
    for (size_t j = i + 1; j < areas.size(); ++j)
      EXPECT_TRUE(areas[i]->end <= areas[j]->start || areas[j]->end <= areas[i]->start)
          << "areas " << i << " and " << j << " overlap";
  EXPECT_EQ(t.mmap_anonymous(0, false), 0u);
  EXPECT_EQ(t.mmap_anonymous(0, true), 0u);
}

TEST(TaskMm, HugetlbAreasAre2MiBAlignedWithContiguousAlignedPages) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t small = t.mmap_anonymous(3 * kPage, false);  // leaves the allocator mid-2 MiB
  ASSERT_NE(small, 0u);
  ASSERT_EQ(m.pages.in_use(), 3u);

  const uint64_t huge = t.mmap_anonymous(3ULL << 20, true);  // rounds up to two huge pages
  ASSERT_NE(huge, 0u);
  EXPECT_TRUE(is_aligned(huge, kHuge)) << std::hex << huge;
  const vm_area* hv = t.find_vma(huge);
  ASSERT_NE(hv, nullptr);
  EXPECT_TRUE(hv->hugetlb);
  EXPECT_EQ(hv->end - hv->start, 2 * kHuge);
  ASSERT_EQ(hv->pages.size(), 1024u);
  EXPECT_EQ(m.pages.in_use(), 3u + 1024u);
  for (size_t run = 0; run < 2; ++run) {
    const uint64_t first = hv->pages[run * 512];
    EXPECT_TRUE(is_aligned(first, kHuge)) << std::hex << first;
    EXPECT_GE(first, kUserBase);
    EXPECT_LE(first + kHuge, kUserBase + kUserSize);
    for (size_t i = 1; i < 512; ++i) ASSERT_EQ(hv->pages[run * 512 + i], first + i * kPage) << "run " << run << " page " << i;
  }
  EXPECT_NE(hv->pages[0], hv->pages[512]);

  // 4 KiB areas are backed by 4 KiB pages, one each, not by 2 MiB runs.
  const vm_area* sv = t.find_vma(small);
  ASSERT_NE(sv, nullptr);
  EXPECT_FALSE(sv->hugetlb);
  ASSERT_EQ(sv->pages.size(), 3u);
  for (uint64_t p : sv->pages) {
    EXPECT_TRUE(is_aligned(p, kPage));
    EXPECT_GE(p, kUserBase);
    EXPECT_LT(p, kUserBase + kUserSize);
    EXPECT_TRUE(p < hv->pages[0] || p >= hv->pages[0] + 2 * kHuge);
  }
  const uint64_t one = t.mmap_anonymous(kPage, false);  // fits in the alignment gap
  ASSERT_NE(one, 0u);
  EXPECT_EQ(m.pages.in_use(), 3u + 1024u + 1u);
  const vm_area* ov = t.find_vma(one);
  ASSERT_NE(ov, nullptr);
  ASSERT_EQ(ov->pages.size(), 1u);
  EXPECT_LT(ov->pages[0], hv->pages[0]);
  // The second hugetlb area is also 2 MiB-aligned in both spaces.
  const uint64_t huge2 = t.mmap_anonymous(1, true);
  ASSERT_NE(huge2, 0u);
  EXPECT_TRUE(is_aligned(huge2, kHuge));
  ASSERT_EQ(t.find_vma(huge2)->pages.size(), 512u);
  EXPECT_TRUE(is_aligned(t.find_vma(huge2)->pages[0], kHuge));
}

TEST(TaskMm, MunmapFreesPagesAndRejectsAWrongLength) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t a = t.mmap_anonymous(4 * kPage, false);
  const uint64_t h = t.mmap_anonymous(kHuge, true);
  ASSERT_NE(a, 0u);
  ASSERT_NE(h, 0u);
  ASSERT_EQ(m.pages.in_use(), 4u + 512u);

  EXPECT_EQ(t.munmap(a, 3 * kPage), -EINVAL);
  EXPECT_EQ(t.munmap(a, 5 * kPage), -EINVAL);
  EXPECT_EQ(t.munmap(a + kPage, 3 * kPage), -EINVAL);  // not the start of the area
  EXPECT_EQ(t.munmap(h, kPage), -EINVAL);
  EXPECT_EQ(m.pages.in_use(), 4u + 512u);
  EXPECT_NE(t.find_vma(a), nullptr);

  EXPECT_EQ(t.munmap(a, 4 * kPage - 100), 0);  // length rounds up to pages
  EXPECT_EQ(m.pages.in_use(), 512u);
  EXPECT_EQ(t.find_vma(a), nullptr);
  EXPECT_EQ(t.munmap(a, 4 * kPage), -EINVAL);  // already gone
  EXPECT_EQ(t.munmap(h, kHuge), 0);
  EXPECT_EQ(m.pages.in_use(), 0u);
  EXPECT_EQ(t.find_vma(h), nullptr);
}

TEST(TaskMm, FreedPagesAreReusedAndTaskExitFreesItsPages) {
  Machine m;
  {
    Task t(1, "proc", *m.cpu, m.pages);
    const uint64_t a = t.mmap_anonymous(kPage, false);
    ASSERT_NE(a, 0u);
    const uint64_t pa = t.find_vma(a)->pages[0];
    ASSERT_EQ(t.munmap(a, kPage), 0);
    const uint64_t b = t.mmap_anonymous(kPage, false);
    ASSERT_NE(b, 0u);
    EXPECT_EQ(t.find_vma(b)->pages[0], pa);
    ASSERT_NE(t.mmap_anonymous(kHuge, true), 0u);
    EXPECT_EQ(m.pages.in_use(), 513u);
  }
  EXPECT_EQ(m.pages.in_use(), 0u);
}

TEST(TaskMm, MmapFailsWithoutLeakingWhenMemoryRunsOut) {
  Machine m(4 * kHuge - kPage);  // ends 2 MiB-aligned; the base is not: three huge pages fit
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t a = t.mmap_anonymous(3 * kHuge, true);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(m.pages.in_use(), 3u * 512u);
  EXPECT_EQ(t.mmap_anonymous(kHuge, true), 0u);
  EXPECT_EQ(t.mmap_anonymous(kHuge, false), 0u);  // the 511 alignment-gap pages are too few
  EXPECT_EQ(m.pages.in_use(), 3u * 512u);         // a failed mmap keeps nothing
  EXPECT_EQ(t.find_vma(a)->end, a + 3 * kHuge);
  const uint64_t gap = t.mmap_anonymous(511 * kPage, false);  // but they are still there
  ASSERT_NE(gap, 0u);
  EXPECT_EQ(m.pages.in_use(), 3u * 512u + 511u);
  EXPECT_EQ(t.mmap_anonymous(kPage, false), 0u);
  EXPECT_EQ(m.pages.in_use(), 3u * 512u + 511u);
}

TEST(TaskMm, PinUserPagesReturnsTheBackingPages) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t a = t.mmap_anonymous(4 * kPage, false);
  const uint64_t h = t.mmap_anonymous(kHuge, true);
  const char arg[] = "argument";
  const uint64_t g = t.alloc_arg(arg, sizeof(arg));
  ASSERT_NE(a, 0u);
  ASSERT_NE(h, 0u);
  const vm_area* av = t.find_vma(a);
  const vm_area* hv = t.find_vma(h);

  std::vector<uint64_t> out;
  ASSERT_EQ(t.pin_user_pages(a, 4, out), 0);
  EXPECT_EQ(out, av->pages);
  ASSERT_EQ(t.pin_user_pages(a + kPage, 2, out), 0);
  EXPECT_EQ(out, (std::vector<uint64_t>{av->pages[1], av->pages[2]}));
  ASSERT_EQ(t.pin_user_pages(h + 510 * kPage, 2, out), 0);
  EXPECT_EQ(out, (std::vector<uint64_t>{hv->pages[510], hv->pages[511]}));
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(t.user_phys(a + i * kPage + 0x123), av->pages[i] + 0x123);

  EXPECT_EQ(t.pin_user_pages(0x1000, 1, out), -EFAULT);         // nothing mapped
  EXPECT_EQ(t.pin_user_pages(a + 3 * kPage, 2, out), -EFAULT);  // runs past the area
  EXPECT_EQ(t.pin_user_pages(g, 1, out), -EFAULT);              // host-backed argument
  EXPECT_EQ(t.user_phys(g), 0u);
  EXPECT_EQ(t.user_phys(0x1000), 0u);
  ASSERT_EQ(t.munmap(a, 4 * kPage), 0);
  EXPECT_EQ(t.pin_user_pages(a, 1, out), -EFAULT);  // unmapped again
}

TEST(TaskUaccess, AnonymousMemoryRoundTripsThroughSimulatedMemory) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  // Make the area's two pages physically non-adjacent: map three, unmap the outer two, remap.
  const uint64_t x = t.mmap_anonymous(kPage, false);
  const uint64_t y = t.mmap_anonymous(kPage, false);
  const uint64_t z = t.mmap_anonymous(kPage, false);
  ASSERT_EQ(t.munmap(x, kPage), 0);
  ASSERT_EQ(t.munmap(z, kPage), 0);
  const uint64_t a = t.mmap_anonymous(2 * kPage, false);
  ASSERT_NE(a, 0u);
  const vm_area* v = t.find_vma(a);
  ASSERT_EQ(v->pages.size(), 2u);
  ASSERT_NE(v->pages[1], v->pages[0] + kPage);
  (void)y;

  constexpr uint64_t kOff = kPage - 96, kLen = 200;  // straddles the page boundary
  std::vector<uint8_t> src(kLen), back(kLen, 0);
  for (uint64_t i = 0; i < kLen; ++i) src[i] = static_cast<uint8_t>(i * 7 + 3);
  int to = 1, from = 1;
  const sc_core::sc_time end = sctest::run_in_thread([&] {
    to = t.copy_to_user(a + kOff, src.data(), kLen);
    from = t.copy_from_user(back.data(), a + kOff, kLen);
  });
  EXPECT_EQ(to, 0);
  EXPECT_EQ(from, 0);
  EXPECT_EQ(back, src);
  EXPECT_GT(end, sc_core::SC_ZERO_TIME);  // loads went to memory

  // The bytes are in host memory at the pages behind the user addresses.
  std::vector<uint8_t> first(96), second(kLen - 96);
  EXPECT_EQ(t.user_phys(a + kOff), v->pages[0] + kOff);
  EXPECT_EQ(t.user_phys(a + kPage), v->pages[1]);
  ASSERT_TRUE(m.mem->backdoor_read(v->pages[0] + kOff, first.data(), first.size()));
  ASSERT_TRUE(m.mem->backdoor_read(v->pages[1], second.data(), second.size()));
  EXPECT_TRUE(std::equal(first.begin(), first.end(), src.begin()));
  EXPECT_TRUE(std::equal(second.begin(), second.end(), src.begin() + 96));
  // And not at the physically next page after the first one.
  std::vector<uint8_t> wrong(second.size(), 0);
  ASSERT_TRUE(m.mem->backdoor_read(v->pages[0] + kPage, wrong.data(), wrong.size()));
  EXPECT_NE(wrong, second);
}

TEST(TaskUaccess, CopyFromUserSeesWhatMemoryHolds) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t h = t.mmap_anonymous(kHuge, true);
  ASSERT_NE(h, 0u);
  const uint64_t pattern = 0x1122334455667788ULL;
  ASSERT_TRUE(m.mem->backdoor_write(t.user_phys(h + 0x10008), &pattern, sizeof(pattern)));
  uint64_t got = 0;
  int rc = 1;
  sctest::run_in_thread([&] { rc = t.copy_from_user(&got, h + 0x10008, sizeof(got)); });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, pattern);
}

TEST(TaskUaccess, ArgumentAreasRoundTripThroughHostBytes) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint32_t init[4] = {1, 2, 3, 4};
  const uint64_t g = t.alloc_arg(init, sizeof(init));
  const uint64_t g2 = t.alloc_arg(init, sizeof(init));
  ASSERT_NE(g, 0u);
  ASSERT_NE(g2, g);
  const vm_area* v = t.find_vma(g);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->host);
  EXPECT_EQ(v->start, g);
  EXPECT_EQ(v->end - v->start, sizeof(init));
  EXPECT_EQ(t.find_vma(g2)->start, g2);

  uint32_t read_init[4] = {};
  uint32_t out[4] = {};
  const uint32_t upd[2] = {0xAAAA5555u, 0xDEADBEEFu};
  int rc_init = 1, rc_to = 1, rc_from = 1;
  const sc_core::sc_time end = sctest::run_in_thread([&] {
    rc_init = t.copy_from_user(read_init, g, sizeof(read_init));
    rc_to = t.copy_to_user(g + 4, upd, sizeof(upd));
    rc_from = t.copy_from_user(out, g, sizeof(out));
  });
  EXPECT_EQ(rc_init, 0);
  EXPECT_EQ(rc_to, 0);
  EXPECT_EQ(rc_from, 0);
  EXPECT_EQ(std::memcmp(read_init, init, sizeof(init)), 0);
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 0xAAAA5555u);
  EXPECT_EQ(out[2], 0xDEADBEEFu);
  EXPECT_EQ(out[3], 4u);
  // The bytes live in the area itself; no memory transaction, no simulated time.
  uint32_t in_area[4];
  ASSERT_EQ(v->bytes.size(), sizeof(in_area));
  std::memcpy(in_area, v->bytes.data(), sizeof(in_area));
  EXPECT_EQ(std::memcmp(in_area, out, sizeof(out)), 0);
  EXPECT_EQ(end, sc_core::SC_ZERO_TIME);
  uint32_t other[4] = {};
  std::memcpy(other, t.find_vma(g2)->bytes.data(), sizeof(other));
  EXPECT_EQ(std::memcmp(other, init, sizeof(init)), 0);  // the other area is untouched
}

TEST(TaskUaccess, ZeroLengthArgumentAreaIsBackedForItsByte) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t g = t.alloc_arg(nullptr, 0);
  const vm_area* v = t.find_vma(g);
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->end - v->start, 1u);  // the area covers one byte
  uint8_t c = 0xFF;
  EXPECT_EQ(t.copy_from_user(&c, g, 1), 0);
  EXPECT_EQ(c, 0u);
  const uint8_t w = 0x5A;
  EXPECT_EQ(t.copy_to_user(g, &w, 1), 0);
  EXPECT_EQ(t.copy_from_user(&c, g, 1), 0);
  EXPECT_EQ(c, 0x5A);
  EXPECT_EQ(t.copy_from_user(&c, g + 1, 1), -EFAULT);
}

TEST(TaskUaccess, FaultsOnUncoveredAddressesAndRangesPastAVma) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const uint64_t a = t.mmap_anonymous(kPage, false);  // the highest anonymous area
  const uint8_t arg[16] = {};
  const uint64_t g = t.alloc_arg(arg, sizeof(arg));
  ASSERT_NE(a, 0u);
  ASSERT_EQ(t.find_vma(a + kPage), nullptr);
  ASSERT_EQ(t.find_vma(g + sizeof(arg)), nullptr);

  uint8_t buf[32] = {};
  std::vector<int> rc;
  sctest::run_in_thread([&] {
    rc.push_back(t.copy_from_user(buf, 0x1000, 4));                         // 0: nothing mapped
    rc.push_back(t.copy_to_user(0x1000, buf, 4));                           // 1
    rc.push_back(t.copy_from_user(buf, a + kPage - 8, 16));                 // 2: past the end
    rc.push_back(t.copy_to_user(a + kPage - 8, buf, 16));                   // 3
    rc.push_back(t.copy_from_user(buf, g + 8, 16));                         // 4: past an arg
    rc.push_back(t.copy_to_user(g + 8, buf, 16));                           // 5
    rc.push_back(t.copy_from_user(buf, a - 8, 16));                         // 6: starts below
    rc.push_back(t.copy_from_user(buf, a + kPage - 8, 8));                  // 7: exactly to end
    rc.push_back(t.copy_from_user(buf, g, sizeof(arg)));                    // 8
  });
  ASSERT_EQ(rc.size(), 9u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(rc[i], -EFAULT) << "case " << i;
  EXPECT_EQ(rc[7], 0);
  EXPECT_EQ(rc[8], 0);
}

TEST(TaskUaccess, StrndupUserReadsAStringOrFails) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  const char name[] = "vfio-pci";  // 8 chars + NUL
  const uint64_t g = t.alloc_arg(name, sizeof(name));
  const char unterminated[3] = {'a', 'b', 'c'};
  const uint64_t u = t.alloc_arg(unterminated, sizeof(unterminated));
  const uint64_t a = t.mmap_anonymous(kPage, false);
  ASSERT_NE(a, 0u);

  std::string s_ok, s_exact, s_short, s_bad, s_unterm, s_anon, s_empty;
  int r_ok = 1, r_exact = 1, r_short = 1, r_bad = 1, r_unterm = 1, r_anon = 1, r_empty = 1;
  sctest::run_in_thread([&] {
    r_ok = t.strndup_user(g, 64, s_ok);
    r_exact = t.strndup_user(g, sizeof(name), s_exact);  // the NUL is the max-th byte
    r_short = t.strndup_user(g, sizeof(name) - 1, s_short);
    r_bad = t.strndup_user(0x2000, 64, s_bad);
    r_unterm = t.strndup_user(u, 64, s_unterm);  // runs off the area before a NUL
    const char text[] = "group/12";
    ASSERT_EQ(t.copy_to_user(a + 100, text, sizeof(text)), 0);
    r_anon = t.strndup_user(a + 100, 16, s_anon);
    r_empty = t.strndup_user(a + 100 + 8, 16, s_empty);
  });
  EXPECT_EQ(r_ok, 0);
  EXPECT_EQ(s_ok, "vfio-pci");
  EXPECT_EQ(r_exact, 0);
  EXPECT_EQ(s_exact, "vfio-pci");
  EXPECT_EQ(r_short, -EINVAL);
  EXPECT_EQ(r_bad, -EFAULT);
  EXPECT_EQ(r_unterm, -EFAULT);
  EXPECT_EQ(r_anon, 0);
  EXPECT_EQ(s_anon, "group/12");
  EXPECT_EQ(r_empty, 0);
  EXPECT_EQ(s_empty, "");
}
