// Driver-side conformance of the VFIO core (vfio-core.md §5.1, §5.4): registration errors, one
// vfio_group per iommu_group and its node's lifetime, the duplicate-registration path (the 6.1
// NULL dereference avoided), ops->init failure, the unregister wait with @request and the signal
// notice, GET_DEVICE_FD racing a dying device, release exactly once, open_device/close_device
// pairing across two fds.
#include <linux/vfio.h>

#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "tests/support/machine.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using namespace vfiosim::kernel;

namespace {

struct vfio_test_device {
  vfio_device vdev;
  int opens = 0, closes = 0, requests = 0;
};

struct Counters {
  int inits = 0, releases = 0;
  int init_error = 0;
};
Counters counters;

support::MachineBuilder builder(bool iommu, bool bridge) {
  support::MachineBuilder b;
  if (!iommu) b.no_iommu();
  if (bridge)
    b.root_port("00:01.0", {{{"bdf", "01:00.0"},
                             {"model", "pcie-pci-bridge"},
                             {"devices", {{{"bdf", "02:01.0"}, {"model", "dma-engine"}},
                                          {{"bdf", "02:02.0"}, {"model", "dma-engine"}}}}}});
  else
    b.engine("00:01.0", "01:00.0");
  return b;
}

// The machine with a test driver's vfio_device_ops that count what the core calls.
struct Machine : support::Machine {
  vfio_device_ops ops;
  explicit Machine(bool iommu = true, bool bridge = false) : support::Machine(builder(iommu, bridge)) {
    counters = Counters{};
    ops.name = "vfio-test";
    ops.init = [](vfio_device&) {
      ++counters.inits;
      return counters.init_error;
    };
    ops.release = [](vfio_device& d) {
      ++counters.releases;
      Vfio::vfio_free_device(&d);
    };
    ops.open_device = [](vfio_device& d) {
      ++reinterpret_cast<vfio_test_device*>(&d)->opens;
      return 0;
    };
    ops.close_device = [](vfio_device& d) { ++reinterpret_cast<vfio_test_device*>(&d)->closes; };
    ops.request = [](vfio_device& d, unsigned count) {
      auto& t = *reinterpret_cast<vfio_test_device*>(&d);
      EXPECT_EQ(count, static_cast<unsigned>(t.requests));
      ++t.requests;
    };
  }
  vfio_test_device* alloc(const char* bdf, int* err = nullptr) {
    int e = 0;
    auto* d = vfio().vfio_alloc_device<vfio_test_device>(&dev(bdf).dev, &ops, &e);
    if (err) *err = e;
    return d;
  }
};

}  // namespace

TEST(VfioRegistration, C_1_NoIommuGroupIsEinvalAndReleaseRunsOnce) {
  Machine m(false);
  int ret = 0;
  bool node = true;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_NE(d, nullptr);
    ret = m.vfio().vfio_register_group_dev(&d->vdev);
    node = !m.kernel().vfs().list("/dev/vfio").empty() && m.kernel().vfs().list("/dev/vfio") != std::vector<std::string>{"vfio"};
    m.vfio().vfio_put_device(&d->vdev);
  });
  EXPECT_EQ(ret, -EINVAL);
  EXPECT_FALSE(node);
  EXPECT_EQ(counters.releases, 1);
  EXPECT_TRUE(m.vfio().leaks().empty());
}

// An IOMMU driver that cannot keep DMA coherent (IOMMU_CAP_CACHE_COHERENCY false: an SMMU
// whose walks do not snoop, say). VT-d in 6.1 always reports the capability, so the test stands
// this driver in front of the VT-d one for everything else.
struct NonCoherentIommu : IommuDriver {
  IommuDriver& real;
  explicit NonCoherentIommu(IommuDriver& r) : real(r) {}
  bool capable(iommu_cap cap) const override { return cap != IOMMU_CAP_CACHE_COHERENCY && real.capable(cap); }
  std::unique_ptr<iommu_domain> domain_alloc(unsigned type) override { return real.domain_alloc(type); }
  void domain_free(iommu_domain& d) override { real.domain_free(d); }
  int attach_dev(iommu_domain& d, device* dev) override { return real.attach_dev(d, dev); }
  void detach_dev(iommu_domain& d, device* dev) override { real.detach_dev(d, dev); }
  int map_pages(iommu_domain& d, uint64_t iova, uint64_t pa, size_t pgsize, size_t n, int prot, size_t* mapped) override {
    return real.map_pages(d, iova, pa, pgsize, n, prot, mapped);
  }
  size_t unmap_pages(iommu_domain& d, uint64_t iova, size_t pgsize, size_t n, iommu_iotlb_gather& g) override {
    return real.unmap_pages(d, iova, pgsize, n, g);
  }
  void flush_iotlb_all(iommu_domain& d) override { real.flush_iotlb_all(d); }
  void iotlb_sync(iommu_domain& d, iommu_iotlb_gather& g) override { real.iotlb_sync(d, g); }
  uint64_t iova_to_phys(iommu_domain& d, uint64_t iova) override { return real.iova_to_phys(d, iova); }
  void get_resv_regions(device* dev, std::vector<iommu_resv_region>& out) override { real.get_resv_regions(dev, out); }
  bool enforce_cache_coherency(iommu_domain& d) override { return real.enforce_cache_coherency(d); }
  void release_device(device* dev) override { real.release_device(dev); }
};

TEST(VfioRegistration, C_2_C_8_IommuWithoutCacheCoherencyIsEinvalAndReleaseRunsOnce) {
  Machine m;
  int ret = 0, ret_coherent = -1;
  bool node = true;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    IommuCore& core = *m.pci().iommu();
    NonCoherentIommu non_coherent(*core.driver());
    IommuDriver* vtd = core.replace_ops(&non_coherent);
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_NE(d, nullptr);
    ret = m.vfio().vfio_register_group_dev(&d->vdev);  // C-2
    node = m.kernel().vfs().list("/dev/vfio") != std::vector<std::string>{"vfio"};
    m.vfio().vfio_put_device(&d->vdev);  // C-8: the driver's put after the failed register
    core.replace_ops(vtd);
    // The same device registers behind VT-d, which always reports the capability (v6.1).
    auto* again = m.alloc("0000:01:00.0");
    ASSERT_NE(again, nullptr);
    ret_coherent = m.vfio().vfio_register_group_dev(&again->vdev);
    if (!ret_coherent) m.vfio().vfio_unregister_group_dev(&again->vdev);
    m.vfio().vfio_put_device(&again->vdev);
  });
  EXPECT_EQ(ret, -EINVAL);
  EXPECT_FALSE(node);
  EXPECT_EQ(ret_coherent, 0);
  EXPECT_EQ(counters.releases, 2);
  EXPECT_TRUE(m.vfio().leaks().empty());
}

TEST(VfioRegistration, C_4_OneGroupPerIommuGroupAndItsNodeLivesWithTheLastDevice) {
  Machine m(true, true);
  bool node_after_first = false, node_after_second = true;
  size_t groups_with_both = 0;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:02:01.0");
    m.unbind("0000:02:02.0");
    auto* d1 = m.alloc("0000:02:01.0");
    auto* d2 = m.alloc("0000:02:02.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d1->vdev), 0);
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d2->vdev), 0);
    groups_with_both = m.vfio().groups();
    EXPECT_EQ(d1->vdev.group, d2->vdev.group);
    EXPECT_EQ(refcount_read(d1->vdev.group->drivers), 2u);
    m.vfio().vfio_unregister_group_dev(&d1->vdev);
    node_after_first = m.kernel().vfs().exists("/dev/vfio/1");
    m.vfio().vfio_unregister_group_dev(&d2->vdev);
    node_after_second = m.kernel().vfs().exists("/dev/vfio/1");
    m.vfio().vfio_put_device(&d1->vdev);
    m.vfio().vfio_put_device(&d2->vdev);
  });
  EXPECT_EQ(groups_with_both, 1u);
  EXPECT_TRUE(node_after_first);
  EXPECT_FALSE(node_after_second);
  EXPECT_EQ(counters.releases, 2);
  EXPECT_TRUE(m.vfio().leaks().empty());
}

TEST(VfioRegistration, C_5_RegisteringTheSameDeviceTwiceIsEbusyWithoutHarm) {
  Machine m;
  int second = 0;
  long group_fd = -1;
  std::vector<std::string> warnings;
  set_kernel_report([&](const std::string&, const std::string& msg) { warnings.push_back(msg); });
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* a = m.alloc("0000:01:00.0");
    auto* b = m.alloc("0000:01:00.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&a->vdev), 0);
    second = m.vfio().vfio_register_group_dev(&b->vdev);  // 6.1.0 dereferences NULL here
    m.vfio().vfio_put_device(&b->vdev);
    Task& t = m.task("t");
    group_fd = m.sys().open(t, "/dev/vfio/1");  // the first registration is unaffected
    m.sys().close(t, static_cast<int>(group_fd));
    m.vfio().vfio_unregister_group_dev(&a->vdev);
    m.vfio().vfio_put_device(&a->vdev);
  });
  set_kernel_report(nullptr);
  EXPECT_EQ(second, -EBUSY);
  EXPECT_GE(group_fd, 0);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("already exists"), std::string::npos);
  EXPECT_EQ(counters.releases, 2);
  EXPECT_TRUE(m.vfio().leaks().empty());
}

TEST(VfioRegistration, C_7_InitFailureFreesTheIndexWithoutRelease) {
  Machine m;
  int err = 0, index_after = -1;
  sctest::run_in_thread([&] {
    m.boot();
    counters.init_error = -ENOMEM;
    auto* d = m.alloc("0000:01:00.0", &err);
    EXPECT_EQ(d, nullptr);
    counters.init_error = 0;
    auto* e = m.alloc("0000:01:00.0");
    index_after = e->vdev.index;
    m.vfio().vfio_put_device(&e->vdev);
  });
  EXPECT_EQ(err, -ENOMEM);
  EXPECT_EQ(counters.releases, 1);  // only the second device's
  EXPECT_EQ(index_after, 0);        // the failed device's index is free again
}

TEST(VfioUnregister, C_10_BlocksAndRequestsUntilTheLastFdCloses) {
  Machine m;
  double returned_at = -1;
  int requests_before_close = 0;
  bool added_after = true;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d->vdev), 0);
    Task& t = m.task("qemu");
    const long fd = m.open_device(t, "/dev/vfio/1", "0000:01:00.0").device;
    ASSERT_GE(fd, 0);
    const double t0 = sc_core::sc_time_stamp().to_seconds();
    sc_core::sc_spawn(
        [&, d, t0] {
          m.vfio().vfio_unregister_group_dev(&d->vdev);
          returned_at = sc_core::sc_time_stamp().to_seconds() - t0;
          added_after = device_is_registered(&d->vdev.device);
          m.vfio().vfio_put_device(&d->vdev);
        },
        "unregister");
    sc_core::wait(25, sc_core::SC_SEC);  // requests at 0, 10 and 20 s
    requests_before_close = d->requests;
    EXPECT_LT(returned_at, 0);  // still blocked
    t.close_all();
    {
      CurrentScope s(t);  // deferred releases run at the return to userspace
    }
  });
  EXPECT_EQ(requests_before_close, 3);
  EXPECT_GE(returned_at, 25.0);
  EXPECT_LT(returned_at, 30.0);
  EXPECT_FALSE(added_after);
  EXPECT_EQ(counters.releases, 1);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

TEST(VfioUnregister, C_11_ASignalIsNoticedOnceAndTheWaitGoesOn) {
  Machine m;
  std::vector<std::string> notices;
  set_kernel_report([&](const std::string& kind, const std::string& msg) {
    if (msg.find("Device is currently in use") != std::string::npos) notices.push_back(kind);
  });
  bool returned_early = false;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d->vdev), 0);
    m.vfio().signal_pending = [](vfio_device&) { return true; };  // the unregistering task got a signal
    Task& t = m.task("qemu");
    ASSERT_GE(m.open_device(t, "/dev/vfio/1", "0000:01:00.0").device, 0);
    bool done = false;
    sc_core::sc_spawn(
        [&, d] {
          m.vfio().vfio_unregister_group_dev(&d->vdev);
          done = true;
          m.vfio().vfio_put_device(&d->vdev);
        },
        "unregister");
    sc_core::wait(45, sc_core::SC_SEC);
    returned_early = done;
    t.close_all();
    CurrentScope s(t);
  });
  set_kernel_report(nullptr);
  EXPECT_FALSE(returned_early);
  EXPECT_EQ(notices.size(), 1u);
  EXPECT_EQ(counters.releases, 1);
}

TEST(VfioDeviceFd, C_13_GetDeviceFdOnADyingDeviceIsEnodev) {
  Machine m;
  long racing = 0;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d->vdev), 0);
    Task& t = m.task("qemu");
    const long fd = m.open_device(t, "/dev/vfio/1", "0000:01:00.0").device;
    sc_core::sc_spawn(
        [&, d] {
          m.vfio().vfio_unregister_group_dev(&d->vdev);
          m.vfio().vfio_put_device(&d->vdev);
        },
        "unregister");
    sc_core::wait(1, sc_core::SC_MS);
    m.sys().close(t, static_cast<int>(fd));  // the registration count reaches zero
    racing = m.get_device_fd(t, 1 /* the group */, "0000:01:00.0");
    t.close_all();
    CurrentScope s(t);
  });
  EXPECT_EQ(racing, -ENODEV);
  EXPECT_EQ(counters.releases, 1);
}

TEST(VfioDeviceFd, C_47_TwoFdsOneOpenDeviceOneCloseDevice) {
  Machine m;
  int opens = -1, closes_after_first = -1, closes_after_second = -1;
  long fd1 = -1, fd2 = -1;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d->vdev), 0);
    Task& t = m.task("qemu");
    fd1 = m.open_device(t, "/dev/vfio/1", "0000:01:00.0").device;
    fd2 = m.get_device_fd(t, 1, "0000:01:00.0");
    opens = d->opens;
    EXPECT_TRUE(t.fd_cloexec(static_cast<int>(fd1)));  // C-49: O_CLOEXEC
    m.sys().close(t, static_cast<int>(fd1));
    closes_after_first = d->closes;
    m.sys().close(t, static_cast<int>(fd2));
    closes_after_second = d->closes;
    t.close_all();
    { CurrentScope s(t); }
    m.vfio().vfio_unregister_group_dev(&d->vdev);
    m.vfio().vfio_put_device(&d->vdev);
  });
  EXPECT_GE(fd1, 0);
  EXPECT_GE(fd2, 0);
  EXPECT_NE(fd1, fd2);
  EXPECT_EQ(opens, 1);
  EXPECT_EQ(closes_after_first, 0);
  EXPECT_EQ(closes_after_second, 1);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

TEST(VfioRaces, C_142_MapRacingTheLastUnsetContainerCompletesOnTheOldBackend) {
  Machine m;
  long map_ret = -1, unset_ret = -1, map_after = 0;
  double map_done = -1, unset_done = -1;
  uint64_t locked_after = 1;
  sctest::run_in_thread([&] {
    m.boot();
    m.to_vfio_pci("0000:01:00.0");
    Task& t = m.task("qemu");
    t.rlimit_memlock = 1ULL << 30;
    const auto fds = m.open_container(t, "/dev/vfio/1");
    const int c = fds.container, g = fds.group;
    const uint64_t buf = t.mmap_anonymous(64ULL << 20, false);
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = buf;
    map.iova = 1ULL << 30;
    map.size = 64ULL << 20;
    const uint64_t arg = t.alloc_arg(&map, sizeof map);
    sc_core::sc_spawn(  // a second thread of the same process: UNSET while the MAP is pinning
        [&, g] {
          sc_core::wait(1, sc_core::SC_US);
          unset_ret = m.sys().ioctl(t, g, VFIO_GROUP_UNSET_CONTAINER, 0);
          unset_done = sc_core::sc_time_stamp().to_seconds();
        },
        "unset");
    map_ret = m.sys().ioctl(t, c, VFIO_IOMMU_MAP_DMA, arg);
    map_done = sc_core::sc_time_stamp().to_seconds();
    sc_core::wait(1, sc_core::SC_MS);
    map_after = m.sys().ioctl(t, c, VFIO_IOMMU_MAP_DMA, arg);
    locked_after = t.mm()->locked_vm;
    t.close_all();
    CurrentScope s(t);
  });
  EXPECT_EQ(map_ret, 0);        // completed on the backend it started on
  EXPECT_EQ(unset_ret, 0);      // and the detach waited for it
  EXPECT_GE(unset_done, map_done);
  EXPECT_EQ(map_after, -EINVAL);  // no backend any more
  EXPECT_EQ(locked_after, 0u);    // the detach unpinned everything
  EXPECT_EQ(m.pci().type1().live(), 0u);  // the backend was released exactly once
  EXPECT_EQ(kernel::live_files(), 0u);
}

TEST(VfioDirty, PhysicalGroupsReportEveryMappedPageAndUnmapCanCollectTheBitmap) {
  Machine m;
  long v1 = 0, get = -1, unmap = -1;
  uint64_t word = 0, unmap_word = 0, unmapped = 0;
  sctest::run_in_thread([&] {
    m.boot();
    m.to_vfio_pci("0000:01:00.0");
    Task& t = m.task("qemu");
    const int c = m.open_container(t, "/dev/vfio/1").container;
    const uint64_t buf = t.mmap_anonymous(8 * 4096, false);
    ASSERT_EQ(m.map_dma(t, c, buf, 0x100000, 8 * 4096), 0);
    uint32_t start[2] = {8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START};
    ASSERT_EQ(m.sys().ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(start, 8)), 0);
    const uint64_t bits = t.alloc_arg(std::vector<uint8_t>(8).data(), 8);
    uint8_t a[8 + sizeof(vfio_iommu_type1_dirty_bitmap_get)] = {};
    const uint32_t h[2] = {sizeof a, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP};
    vfio_iommu_type1_dirty_bitmap_get r{};
    r.iova = 0x100000;
    r.size = 8 * 4096;
    r.bitmap.pgsize = 4096;
    r.bitmap.size = 8;
    r.bitmap.data = reinterpret_cast<__u64*>(bits);
    std::memcpy(a, h, 8);
    std::memcpy(a + 8, &r, sizeof r);
    get = m.sys().ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(a, sizeof a));
    t.copy_from_user(&word, bits, 8);
    // UNMAP with GET_DIRTY_BITMAP into a second, zeroed bitmap.
    const uint64_t bits2 = t.alloc_arg(std::vector<uint8_t>(8).data(), 8);
    uint8_t u[sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap)] = {};
    vfio_iommu_type1_dma_unmap um{};
    um.argsz = sizeof u;
    um.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
    um.iova = 0x100000;
    um.size = 8 * 4096;
    vfio_bitmap vb{4096, 8, reinterpret_cast<__u64*>(bits2)};
    std::memcpy(u, &um, sizeof um);
    std::memcpy(u + sizeof um, &vb, sizeof vb);
    const uint64_t uarg = t.alloc_arg(u, sizeof u);
    unmap = m.sys().ioctl(t, c, VFIO_IOMMU_UNMAP_DMA, uarg);
    t.copy_from_user(&unmap_word, bits2, 8);
    t.copy_from_user(&um, uarg, sizeof um);
    unmapped = um.size;
    t.close_all();
    { CurrentScope s(t); }
    // A v1 container may not track.
    const int c1 = m.open_container(t, "/dev/vfio/1", VFIO_TYPE1_IOMMU).container;
    v1 = m.sys().ioctl(t, c1, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(start, 8));
    t.close_all();
    CurrentScope s(t);
  });
  EXPECT_EQ(get, 0);
  EXPECT_EQ(word, 0xFFu);  // a device that may DMA anywhere it is mapped: every page is dirty
  EXPECT_EQ(unmap, 0);
  EXPECT_EQ(unmap_word, 0xFFu);
  EXPECT_EQ(unmapped, 8u * 4096);
  EXPECT_EQ(v1, -EACCES);
}

TEST(VfioRegistration, C_14_AfterUnregisterAndPutTheIndexIsReusable) {
  Machine m;
  int first_index = -1, second_index = -2;
  sctest::run_in_thread([&] {
    m.boot();
    m.unbind("0000:01:00.0");
    auto* d = m.alloc("0000:01:00.0");
    first_index = d->vdev.index;
    ASSERT_EQ(m.vfio().vfio_register_group_dev(&d->vdev), 0);
    m.vfio().vfio_unregister_group_dev(&d->vdev);
    m.vfio().vfio_put_device(&d->vdev);
    auto* e = m.alloc("0000:01:00.0");
    second_index = e->vdev.index;
    m.vfio().vfio_put_device(&e->vdev);
  });
  EXPECT_EQ(counters.releases, 2);
  EXPECT_EQ(first_index, second_index);
  EXPECT_TRUE(m.vfio().leaks().empty());
}

TEST(VfioGroupFd, C_25_AGroupOnAForeignDomainCannotJoinAContainer) {
  Machine m;
  long ret = 0;
  sctest::run_in_thread([&] {
    m.boot();
    m.to_vfio_pci("0000:01:00.0");
    // Another kernel user attached the group to its own unmanaged domain.
    IommuCore& core = *m.pci().iommu();
    iommu_domain* foreign = core.iommu_domain_alloc();
    ASSERT_EQ(core.iommu_attach_group(foreign, m.dev("0000:01:00.0").dev.iommu_group), 0);
    Task& t = m.task("qemu");
    const int c = static_cast<int>(m.sys().open(t, "/dev/vfio/vfio"));
    const int g = static_cast<int>(m.sys().open(t, "/dev/vfio/1"));
    ret = m.sys().ioctl(t, g, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&c, sizeof c));
    core.iommu_detach_group(foreign, m.dev("0000:01:00.0").dev.iommu_group);
    core.iommu_domain_free(foreign);
    t.close_all();
    CurrentScope s(t);
  });
  EXPECT_EQ(ret, -EBUSY);
}

TEST(VfioRaces, C_136_EmulatedGroupsAreFreedEveryTime) {
  Machine m;
  size_t groups_before = 0, groups_after = 1;
  std::set<int> ids;
  sctest::run_in_thread([&] {
    m.boot();
    groups_before = m.pci().iommu_groups().groups().size();
    for (int i = 0; i < 1000; ++i) {
      auto* d = m.alloc("0000:01:00.0");
      ASSERT_EQ(m.vfio().vfio_register_emulated_iommu_dev(&d->vdev), 0);
      ids.insert(d->vdev.group->group->id);
      m.vfio().vfio_unregister_group_dev(&d->vdev);
      m.vfio().vfio_put_device(&d->vdev);
    }
    groups_after = m.pci().iommu_groups().groups().size();
  });
  EXPECT_EQ(groups_after, groups_before);  // every fake iommu_group went
  EXPECT_EQ(ids.size(), 1u);               // and its id was free for the next one
  EXPECT_EQ(counters.releases, 1000);
  EXPECT_TRUE(m.vfio().leaks().empty());
}
