// The kernel IOMMU layer on a booted platform with the VT-d model: iommu_pgsize() splitting,
// iommu_map()/iommu_unmap() and the tables they build, DMA through mapped and unmapped IOVAs,
// strict vs lazy (flush-queue) invalidation and its thresholds, the cost of a strict unmap,
// reserved regions, DMA ownership, attaching groups to unmanaged domains, fault reporting up to
// the kernel log, and a device of another bus in a group of its own.
#include <gtest/gtest.h>

#include "sim/app/steps/dma_engine_driver.h"
#include "tests/support/machine.h"
#include "tests/support/sc_test.h"
#include "tests/support/test_bus.h"
#include "vfio/linux/drivers/iommu/dma-iommu.h"

using namespace vfiosim;
using nlohmann::json;

namespace {

// Two DMA engines on root ports of their own, 32 tags each; `strict` invalidation or the flush queue.
support::MachineBuilder builder(bool strict, json kernel_extra = json::object()) {
  json kernel = {{"iommu", {{"strict", strict}}}};
  kernel.merge_patch(kernel_extra);
  return support::MachineBuilder()
      .kernel(kernel)
      .engine("00:01.0", "01:00.0", {{"tags", 32}})
      .engine("00:02.0", "02:00.0", {{"tags", 32}});
}

struct Machine : support::Machine {
  explicit Machine(const support::MachineBuilder& b) : support::Machine(b) {}
  /// One 64 B read job at `dma_addr` (no mapping by the harness).
  EngineRun read_at(const char* bdf, uint64_t dma_addr, uint64_t count = 4) {
    Workload w;
    w.direction = DmaDirection::Read;
    w.size = 64;
    w.count = count;
    w.window = 4096;
    w.address = dma_addr;
    DmaMapping m;
    m.enabled = false;
    return run_engine_job(pci(), bdf, w, m);
  }
};

uint64_t cpu_cycles(uint64_t ps) { return ps * 2200 / 1000000; }  // 2.2 GHz

}  // namespace

TEST(IommuPgsize, SplitsBySizeAndAlignment) {
  const uint64_t bitmap = 0x1000 | 0x200000 | 0x40000000;
  size_t count = 0;
  // 4 MiB at a 2 MiB-aligned address: two 2 MiB pages.
  EXPECT_EQ(kernel::iommu_pgsize(bitmap, 0x200000, 0x400000, 0x400000, &count), 0x200000u);
  EXPECT_EQ(count, 2u);
  // Misaligned physical address: 4 KiB pages only.
  EXPECT_EQ(kernel::iommu_pgsize(bitmap, 0x200000, 0x401000, 0x400000, &count), 0x1000u);
  // 4 KiB pages up to the next 2 MiB boundary, where a larger page becomes possible.
  EXPECT_EQ(kernel::iommu_pgsize(bitmap, 0x1FF000, 0x1FF000, 0x400000, &count), 0x1000u);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(kernel::iommu_pgsize(bitmap, 0, 0, 0x80000000, &count), 0x40000000u);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(kernel::iommu_pgsize(0x1000, 0x200000, 0x200000, 0x400000, &count), 0x1000u);
  EXPECT_EQ(count, 1024u);
}

TEST(IommuCoreMap, UnmanagedDomainMapsTranslatesAndUnmaps) {
  Machine m(builder(true));
  int misaligned = 0, mapped_small = -1, mapped_big = -1;
  uint64_t phys_small = 0, phys_big = 0, phys_after = 1, unmapped = 0;
  uint64_t ptes_big = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& core = m.iommu();
    kernel::iommu_domain* d = core.iommu_domain_alloc();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->type, kernel::IOMMU_DOMAIN_UNMANAGED);
    // A new VT-d domain belongs to no unit: 4 KiB pages and the default 57-bit width, until a
    // device's unit narrows it (md_domain_init, then domain_update_iommu_cap at attach).
    EXPECT_EQ(d->pgsize_bitmap, 0x1000u);
    EXPECT_EQ(d->geometry.aperture_end, (1ULL << 57) - 1);
    kernel::iommu_group* g = core.iommu_group_get(&m.dev("0000:01:00.0").dev);
    ASSERT_EQ(core.iommu_attach_group(d, g), 0);
    EXPECT_EQ(d->pgsize_bitmap, 0x1000u | 0x200000u | 0x40000000u);
    EXPECT_EQ(d->geometry.aperture_end, (1ULL << 48) - 1);
    misaligned = core.iommu_map(d, 0x100800, 0x20000000, 0x1000, kernel::IOMMU_READ);
    mapped_small = core.iommu_map(d, 0x100000, 0x20000000, 0x2000, kernel::IOMMU_READ | kernel::IOMMU_WRITE);
    phys_small = core.iommu_iova_to_phys(d, 0x101234);
    const uint64_t before = m.counter("system.kernel.iommu.intel.pte_writes");
    mapped_big = core.iommu_map(d, 0x40000000, 0x60000000, 0x200000, kernel::IOMMU_READ);
    ptes_big = m.counter("system.kernel.iommu.intel.pte_writes") - before;
    phys_big = core.iommu_iova_to_phys(d, 0x40123456);
    unmapped = core.iommu_unmap(d, 0x100000, 0x2000);
    phys_after = core.iommu_iova_to_phys(d, 0x101234);
    core.iommu_detach_group(d, g);
    core.iommu_group_put(g);
    core.iommu_domain_free(d);
  });
  EXPECT_EQ(misaligned, -EINVAL);
  EXPECT_EQ(mapped_small, 0);
  EXPECT_EQ(phys_small, 0x20001234u);
  EXPECT_EQ(mapped_big, 0);
  EXPECT_EQ(phys_big, 0x60123456u);
  // One 2 MiB leaf plus the tables above it (PML4E -> PDPT was there; a new PD under it).
  EXPECT_LE(ptes_big, 3u);
  EXPECT_EQ(unmapped, 0x2000u);
  EXPECT_EQ(phys_after, 0u);
}

TEST(IommuDmaApi, DeviceReachesMemoryOnlyThroughItsMapping) {
  Machine m(builder(true));
  EngineRun mapped, unmapped_run, after_unmap;
  uint64_t iova = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& dev = m.dev("0000:01:00.0");
    iova = m.pci().dma_api()->map(&dev.dev, 0x20000000, 0x1000, kernel::IOMMU_READ | kernel::IOMMU_WRITE);
    mapped = m.read_at("0000:01:00.0", iova);
    unmapped_run = m.read_at("0000:01:00.0", 0x20000000);  // the physical address is no IOVA
    m.pci().dma_api()->unmap(&dev.dev, iova, 0x1000);
    after_unmap = m.read_at("0000:01:00.0", iova);  // strict: invalidated at once
  });
  EXPECT_NE(iova, 0x20000000u);
  EXPECT_LT(iova, 0x100000000u);  // a 32-bit (SAC) IOVA first
  EXPECT_EQ(mapped.summary.errors, 0u);
  EXPECT_EQ(unmapped_run.summary.errors, 4u);
  EXPECT_EQ(after_unmap.summary.errors, 4u);
  EXPECT_EQ(m.counter("system.iommu.faults"), 8u);
  EXPECT_EQ(m.counter("system.kernel.iommu.intel.faults_serviced"), 8u);
  bool logged = false;
  for (const auto& e : m.platform().events().events())
    logged |= e.type == "dmesg" && e.details["message"].get<std::string>().find("fault reason 0x06") != std::string::npos;
  EXPECT_TRUE(logged);
}

constexpr unsigned kRunsOfUnmap = 16;

TEST(IommuDmaApi, StrictUnmapCostsAboutTwoThousandCycles) {
  Machine m(builder(true));
  uint64_t unmap_ps = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& dev = m.dev("0000:01:00.0");
    // Warm up: the first map allocates the page tables.
    const uint64_t warm = m.pci().dma_api()->map(&dev.dev, 0x20000000, 0x1000, kernel::IOMMU_READ);
    m.pci().dma_api()->unmap(&dev.dev, warm, 0x1000);
    // The mean of 16 unmaps, as a benchmark reports it: one unmap's time depends on where the
    // wait-descriptor polling falls against the invalidation (up to one memory read either way).
    // Each pair starts 37 ns further into a microsecond, so the phases spread.
    const uint64_t us = 1000000;
    for (unsigned i = 0; i < kRunsOfUnmap; ++i) {
      const uint64_t iova = m.pci().dma_api()->map(&dev.dev, 0x20001000, 0x1000, kernel::IOMMU_READ);
      const uint64_t now = sc_core::sc_time_stamp().value();
      const uint64_t start = (now / us + 1) * us + static_cast<uint64_t>(i) * 37000;
      sc_core::wait(sc_core::sc_time(static_cast<double>(start - now), sc_core::SC_PS));
      m.pci().dma_api()->unmap(&dev.dev, iova, 0x1000);
      unmap_ps += sc_core::sc_time_stamp().value() - start;
    }
    unmap_ps /= kRunsOfUnmap;
  });
  const uint64_t cycles = cpu_cycles(unmap_ps);
  RecordProperty("strict_unmap_cycles", std::to_string(cycles));
  // perf-anchors.md §2: 2,127-2,135 cycles per strict unmap (Malka et al.); we hold 2,100 ± 10%.
  EXPECT_GE(cycles, 1890u) << cycles;
  EXPECT_LE(cycles, 2310u) << cycles;
  EXPECT_EQ(m.counter("system.kernel.iommu.intel.iotlb_flush_psi"), 1u + kRunsOfUnmap);
}

TEST(IommuDmaApi, LazyUnmapsFlushAtTheBatchLimit) {
  Machine m(builder(false, {{"iommu", {{"flush_batch", 250}}}}));
  uint64_t flushes_at_250 = 0, flushes_at_251 = 0, dsi_at_250 = 0, dsi_at_251 = 0;
  size_t iovas_before_flush = 0, iovas_after_flush = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& dev = m.dev("0000:01:00.0");
    auto* api = m.pci().dma_api();
    for (int i = 0; i < 251; ++i) {
      const uint64_t iova = api->map(&dev.dev, 0x20000000 + i * 0x1000ULL, 0x1000, kernel::IOMMU_READ);
      api->unmap(&dev.dev, iova, 0x1000);
      if (i == 249) {
        flushes_at_250 = m.counter("system.kernel.iommu.dma.fq_flush_full");
        dsi_at_250 = m.counter("system.iommu.inv_iotlb_domain");
        iovas_before_flush = api->iovas_allocated();
      }
    }
    flushes_at_251 = m.counter("system.kernel.iommu.dma.fq_flush_full");
    dsi_at_251 = m.counter("system.iommu.inv_iotlb_domain");
    iovas_after_flush = api->iovas_allocated();
  });
  EXPECT_EQ(flushes_at_250, 0u);
  EXPECT_EQ(flushes_at_251, 1u);
  EXPECT_EQ(dsi_at_251, dsi_at_250 + 1);  // one domain-selective flush for the whole batch
  EXPECT_EQ(iovas_before_flush, 250u);    // queued IOVAs stay allocated until their flush
  EXPECT_EQ(iovas_after_flush, 1u);       // only the 251st is still queued
  EXPECT_EQ(m.counter("system.iommu.inv_iotlb_page"), 0u);  // lazy mode never flushes page by page
}

TEST(IommuDmaApi, LazyUnmapsFlushTenMillisecondsAfterTheFirst) {
  Machine m(builder(false));
  uint64_t at_9ms = 0, at_11ms = 0;
  EngineRun stale, after;
  sctest::run_in_thread([&] {
    m.boot();
    auto& dev = m.dev("0000:01:00.0");
    auto* api = m.pci().dma_api();
    const uint64_t iova = api->map(&dev.dev, 0x20000000, 0x1000, kernel::IOMMU_READ);
    (void)m.read_at("0000:01:00.0", iova);  // the IOTLB now holds the translation
    const uint64_t t0 = sc_core::sc_time_stamp().value();
    api->unmap(&dev.dev, iova, 0x1000);
    stale = m.read_at("0000:01:00.0", iova);  // lazy: the stale IOTLB entry still translates
    sc_core::wait(sc_core::sc_time(static_cast<double>(t0 + 9000000000ULL - sc_core::sc_time_stamp().value()), sc_core::SC_PS));
    at_9ms = m.counter("system.kernel.iommu.dma.fq_flush_timeout");
    sc_core::wait(2, sc_core::SC_MS);
    at_11ms = m.counter("system.kernel.iommu.dma.fq_flush_timeout");
    after = m.read_at("0000:01:00.0", iova);
  });
  EXPECT_EQ(stale.summary.errors, 0u);
  EXPECT_EQ(at_9ms, 0u);
  EXPECT_EQ(at_11ms, 1u);
  EXPECT_EQ(after.summary.errors, 4u);  // after the flush no stale entry is used
}

TEST(IommuCoreGroups, ReservedRegionsIncludeTheMsiWindow) {
  Machine m(builder(true));
  std::vector<kernel::iommu_resv_region> regions;
  sctest::run_in_thread([&] {
    m.boot();
    regions = m.iommu().iommu_get_group_resv_regions(m.dev("0000:01:00.0").dev.iommu_group);
  });
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].start, 0xFEE00000u);
  EXPECT_EQ(regions[0].length, 0x100000u);
  EXPECT_EQ(regions[0].type, kernel::IOMMU_RESV_MSI);
}

TEST(IommuCoreGroups, DmaOwnershipExcludesOtherOwnersAndKernelDrivers) {
  Machine m(builder(true));
  int while_driver_bound = 0, claim_a = -1, claim_b = 0, bind_dma_driver = 0, claim_again = -1, rebind = -1;
  kernel::iommu_domain *during = nullptr, *after = nullptr, *def = nullptr;
  int a = 0, b = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& dev = m.dev("0000:02:00.0");
    auto& drivers = m.pci().drivers();
    kernel::pci_driver* dmae = drivers.find_driver(kDmaEngineDriver);
    kernel::iommu_group* g = dev.dev.iommu_group;
    def = g->default_domain;
    while_driver_bound = m.iommu().iommu_group_claim_dma_owner(g, &a);  // a kernel DMA driver uses it
    drivers.unbind(*dmae, dev);
    claim_a = m.iommu().iommu_group_claim_dma_owner(g, &a);
    during = g->domain;
    claim_b = m.iommu().iommu_group_claim_dma_owner(g, &b);
    bind_dma_driver = drivers.bind(*dmae, dev);  // probe's iommu_device_use_default_domain fails
    claim_again = m.iommu().iommu_group_claim_dma_owner(g, &a);  // the same owner nests
    m.iommu().iommu_group_release_dma_owner(g);
    m.iommu().iommu_group_release_dma_owner(g);
    after = g->domain;
    rebind = drivers.bind(*dmae, dev);
  });
  EXPECT_EQ(while_driver_bound, -EPERM);
  EXPECT_EQ(claim_a, 0);
  EXPECT_NE(during, def);  // blocked while owned
  EXPECT_EQ(claim_b, -EPERM);
  EXPECT_EQ(bind_dma_driver, -EBUSY);
  EXPECT_EQ(claim_again, 0);
  EXPECT_EQ(after, def);
  EXPECT_EQ(rebind, 0);
}

TEST(IommuCoreGroups, AttachedUnmanagedDomainReplacesTheDefaultOne) {
  Machine m(builder(true));
  EngineRun via_unmanaged, via_default_iova, back_on_default;
  int attach = -1, busy = 0;
  sctest::run_in_thread([&] {
    m.boot();
    auto& core = m.iommu();
    auto& dev = m.dev("0000:01:00.0");
    kernel::iommu_group* g = dev.dev.iommu_group;
    const uint64_t def_iova = m.pci().dma_api()->map(&dev.dev, 0x20000000, 0x1000, kernel::IOMMU_READ);
    kernel::iommu_domain* d = core.iommu_domain_alloc();
    ASSERT_EQ(core.iommu_map(d, 0x700000, 0x30000000, 0x1000, kernel::IOMMU_READ), 0);
    attach = core.iommu_attach_group(d, g);  // the group is on its default domain: allowed
    kernel::iommu_domain* other = core.iommu_domain_alloc();
    busy = core.iommu_attach_group(other, g);  // already attached to a non-default domain
    via_unmanaged = m.read_at("0000:01:00.0", 0x700000);
    via_default_iova = m.read_at("0000:01:00.0", def_iova);
    core.iommu_detach_group(d, g);
    back_on_default = m.read_at("0000:01:00.0", def_iova);
    core.iommu_domain_free(other);
    core.iommu_domain_free(d);
  });
  EXPECT_EQ(attach, 0);
  EXPECT_EQ(busy, -EBUSY);
  EXPECT_EQ(via_unmanaged.summary.errors, 0u);
  EXPECT_EQ(via_default_iova.summary.errors, 4u);
  EXPECT_EQ(back_on_default.summary.errors, 0u);
  EXPECT_TRUE(m.iommu().leaks().empty());
}

TEST(IommuPassthrough, IdentityDomainsUsePhysicalAddresses) {
  Machine m(builder(true, {{"iommu", {{"passthrough", true}}}}));
  uint64_t addr = 0;
  EngineRun run;
  sctest::run_in_thread([&] {
    m.boot();
    addr = m.pci().dma_api()->map(&m.dev("0000:01:00.0").dev, 0x20000000, 0x1000, kernel::IOMMU_READ);
    run = m.read_at("0000:01:00.0", addr);
  });
  EXPECT_EQ(addr, 0x20000000u);
  EXPECT_EQ(run.summary.errors, 0u);
  EXPECT_EQ(m.counter("system.iommu.pass_through"), 4u);
  EXPECT_EQ(m.counter("system.iommu.iotlb_miss"), 0u);
}

TEST(IommuCoreGroups, MembershipNotifierAndGroupReferences) {
  Machine m(builder(true));
  std::vector<std::pair<unsigned long, std::string>> seen;
  std::vector<std::string> leaks_while_held, leaks_after;
  size_t members_after_remove = 0, members_after_add = 0;
  bool attached_again = false;
  sctest::run_in_thread([&] {
    m.boot();
    auto& core = m.iommu();
    auto& dev = m.dev("0000:01:00.0");
    kernel::iommu_group* g = core.iommu_group_get(&dev.dev);  // +1
    ASSERT_NE(g, nullptr);
    leaks_while_held = core.leaks();
    const int id = core.iommu_group_register_notifier(
        g, [&](unsigned long action, kernel::device* d) { seen.push_back({action, kernel::dev_name(d)}); });
    core.iommu_group_remove_device(&dev.dev);
    members_after_remove = g->devices.size();
    core.iommu_group_add_device(g, &dev.dev);
    members_after_add = g->devices.size();
    // The device is attached to the group's current domain again: its DMA translates.
    const uint64_t iova = m.pci().dma_api()->map(&dev.dev, 0x20000000, 0x1000, kernel::IOMMU_READ);
    attached_again = m.read_at("0000:01:00.0", iova).summary.errors == 0;
    core.iommu_group_unregister_notifier(g, id);
    core.iommu_group_remove_device(&dev.dev);  // not notified any more
    core.iommu_group_add_device(g, &dev.dev);
    core.iommu_group_put(g);
    leaks_after = core.leaks();
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<unsigned long, std::string>{kernel::IOMMU_GROUP_NOTIFY_DEL_DEVICE, "0000:01:00.0"}));
  EXPECT_EQ(seen[1], (std::pair<unsigned long, std::string>{kernel::IOMMU_GROUP_NOTIFY_ADD_DEVICE, "0000:01:00.0"}));
  EXPECT_EQ(members_after_remove, 0u);
  EXPECT_EQ(members_after_add, 1u);
  EXPECT_TRUE(attached_again);
  ASSERT_EQ(leaks_while_held.size(), 1u);  // the extra reference is reported
  EXPECT_NE(leaks_while_held[0].find("extra reference"), std::string::npos);
  EXPECT_TRUE(leaks_after.empty());
}

// A device that is not PCI (on a test bus, as an mdev or css device would be) joins a group
// allocated with iommu_group_alloc(): the group's notifier sees it, iommu_group_get() finds the
// group through dev->iommu_group and sysfs lists it by its name. The PCI grouping, the iommu core's
// probe and the VT-d driver refuse it without touching any pci_dev.
TEST(IommuCoreGroups, ANonPciDeviceInAnAllocatedGroup) {
  const size_t before = kernel::live_struct_devices();
  testbus::TestBus tb;
  std::vector<std::pair<unsigned long, std::string>> seen;
  kernel::iommu_group *got = nullptr, *after_remove = nullptr;
  kernel::iommu_domain* domain_for_dev = nullptr;
  int probe = 0, attach = 0, group_id = -1, got_id = -2;
  bool pci_grouped = true, unit = true;
  std::vector<std::string> listed, leaks;
  {
    Machine m(builder(true));
    sctest::run_in_thread([&] {
      m.boot();
      auto& core = m.iommu();
      auto& groups = m.pci().iommu_groups();
      kernel::device* dev = tb.add("t0");
      probe = core.iommu_probe_device(dev);  // no IOMMU serves the test bus
      pci_grouped = groups.device_group(dev) != nullptr;
      unit = m.pci().intel_iommu()->device_to_iommu(dev) != nullptr;
      kernel::iommu_domain* d = core.iommu_domain_alloc();
      attach = core.driver()->attach_dev(*d, dev);
      core.iommu_domain_free(d);

      kernel::iommu_group* g = groups.iommu_group_alloc();
      group_id = g->id;
      const int id = core.iommu_group_register_notifier(
          g, [&](unsigned long action, kernel::device* d) { seen.push_back({action, kernel::dev_name(d)}); });
      core.iommu_group_add_device(g, dev);
      got = core.iommu_group_get(dev);
      got_id = got ? got->id : -1;
      core.iommu_group_put(got);
      domain_for_dev = core.iommu_get_domain_for_dev(dev);  // no IOMMU driver domain for the group
      listed = m.pci().sysfs().list("/sys/kernel/iommu_groups/" + std::to_string(group_id) + "/devices").entries;
      core.iommu_group_remove_device(dev);
      after_remove = dev->iommu_group;
      core.iommu_group_unregister_notifier(g, id);
      groups.iommu_group_release(g);
      kernel::device_unregister(dev);
      leaks = core.leaks();
    });
  }
  EXPECT_EQ(probe, -ENODEV);
  EXPECT_FALSE(pci_grouped);
  EXPECT_FALSE(unit);
  EXPECT_EQ(attach, -ENODEV);
  EXPECT_EQ(got_id, group_id);
  EXPECT_EQ(domain_for_dev, nullptr);
  EXPECT_EQ(listed, std::vector<std::string>{"t0"});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<unsigned long, std::string>{kernel::IOMMU_GROUP_NOTIFY_ADD_DEVICE, "t0"}));
  EXPECT_EQ(seen[1], (std::pair<unsigned long, std::string>{kernel::IOMMU_GROUP_NOTIFY_DEL_DEVICE, "t0"}));
  EXPECT_EQ(after_remove, nullptr);
  EXPECT_TRUE(leaks.empty());
  EXPECT_EQ(tb.freed, 1);
  EXPECT_EQ(kernel::live_struct_devices(), before);
}
