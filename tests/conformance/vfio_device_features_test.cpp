// Device-fd ioctl rules of the core (vfio-core.md §2.3, §5.4): C-52 (DMA logging through a
// driver's log_ops: START's range checks, REPORT's page size, the iova_bitmap the driver fills)
// and C-53 (the runtime-PM resume before every device ioctl: a driver with PM ops whose resume
// fails makes every device ioctl -EIO).
#include "tests/conformance/emulated_machine.h"

#include <linux/vfio.h>

#include "vfio/linux/drivers/base/power/runtime.h"
#include "vfio/linux/drivers/vfio/iova_bitmap.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

struct Log {
  std::vector<vfio_log_range> ranges;
  int starts = 0, stops = 0, reads = 0;
};
Log log_state;

// DMA_LOGGING_START with `ranges`; returns the result and the page size written back.
std::pair<long, uint64_t> log_start(Machine& m, Task& t, int device, uint64_t page_size,
                                    const std::vector<vfio_device_feature_dma_logging_range>& ranges,
                                    uint32_t num_ranges) {
  const uint64_t r = ranges.empty() ? 0 : t.alloc_arg(ranges.data(), ranges.size() * sizeof ranges[0]);
  std::vector<uint8_t> buf(sizeof(vfio_device_feature) + sizeof(vfio_device_feature_dma_logging_control));
  vfio_device_feature f{};
  f.argsz = static_cast<uint32_t>(buf.size());
  f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
  vfio_device_feature_dma_logging_control c{};
  c.page_size = page_size;
  c.num_ranges = num_ranges;
  c.ranges = r;
  std::memcpy(buf.data(), &f, sizeof f);
  std::memcpy(buf.data() + sizeof f, &c, sizeof c);
  const uint64_t arg = t.alloc_arg(buf.data(), buf.size());
  const long ret = m.sys().ioctl(t, device, VFIO_DEVICE_FEATURE, arg);
  t.copy_from_user(&c, arg + sizeof f, sizeof c);
  return {ret, c.page_size};
}

// DMA_LOGGING_REPORT of [iova, iova + length) into a zeroed bitmap: the result and word 0.
std::pair<long, uint64_t> log_report(Machine& m, Task& t, int device, uint64_t iova, uint64_t length,
                                     uint64_t page_size) {
  const uint64_t bits = t.alloc_arg(std::vector<uint8_t>(64).data(), 64);
  std::vector<uint8_t> buf(sizeof(vfio_device_feature) + sizeof(vfio_device_feature_dma_logging_report));
  vfio_device_feature f{};
  f.argsz = static_cast<uint32_t>(buf.size());
  f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
  vfio_device_feature_dma_logging_report r{};
  r.iova = iova;
  r.length = length;
  r.page_size = page_size;
  r.bitmap = bits;
  std::memcpy(buf.data(), &f, sizeof f);
  std::memcpy(buf.data() + sizeof f, &r, sizeof r);
  const long ret = m.sys().ioctl(t, device, VFIO_DEVICE_FEATURE, t.alloc_arg(buf.data(), buf.size()));
  uint64_t w = 0;
  t.copy_from_user(&w, bits, 8);
  return {ret, w};
}

long feature(Machine& m, Task& t, int device, uint32_t flags) {
  vfio_device_feature f{};
  f.argsz = sizeof f;
  f.flags = flags;
  return m.sys().ioctl(t, device, VFIO_DEVICE_FEATURE, t.alloc_arg(&f, sizeof f));
}

}  // namespace

TEST(VfioDeviceFeature, C_52_DmaLoggingChecksItsRangesAndFillsTheBitmap) {
  Machine m;
  vfio_log_ops log_ops;
  log_ops.log_start = [](vfio_device&, const std::vector<vfio_log_range>& r, uint64_t& page_size) {
    log_state.ranges = r;
    ++log_state.starts;
    page_size = std::max<uint64_t>(page_size, 8192);  // the device tracks 8 KiB at best
    return 0;
  };
  log_ops.log_stop = [](vfio_device&) {
    ++log_state.stops;
    return 0;
  };
  log_ops.log_read_and_clear = [](vfio_device&, uint64_t iova, uint64_t, iova_bitmap& dirty) {
    ++log_state.reads;
    return dirty.set(iova + 2 * 8192, 2 * 8192);  // pages 2 and 3 were written
  };
  long none = 0, too_many = 0, unaligned = 0, overlap = 0, wraps = 0, probe = -1, no_log_ops = 0, stop = -1;
  std::pair<long, uint64_t> ok{}, rep{}, rep_2k{}, rep_12k{};
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    Task& t = pci.kernel().task("qemu");
    int err = 0;
    m.emul = m.vfio().vfio_alloc_device<emul_device>(m.emul_parent("emul0"), &m.ops, &err);
    m.emul->vdev.log_ops = &log_ops;  // set before registration
    ASSERT_EQ(m.vfio().vfio_register_emulated_iommu_dev(&m.emul->vdev), 0);
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    using R = vfio_device_feature_dma_logging_range;
    none = log_start(m, t, s.device, 4096, {}, 0).first;
    too_many = log_start(m, t, s.device, 4096, std::vector<R>(257, R{0, 4096}), 257).first;
    unaligned = log_start(m, t, s.device, 4096, {{0x1800, 0x1000}}, 1).first;
    overlap = log_start(m, t, s.device, 4096, {{0x100000, 0x10000}, {0x108000, 0x10000}}, 2).first;
    wraps = log_start(m, t, s.device, 4096, {{0xfffffffffffff000ULL, 0x2000}}, 1).first;
    probe = feature(m, t, s.device, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                                         VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
    ok = log_start(m, t, s.device, 4096, {{0x200000, 0x10000}, {0x100000, 0x10000}}, 2);
    rep = log_report(m, t, s.device, 0x100000, 0x10000, 8192);
    rep_2k = log_report(m, t, s.device, 0x100000, 0x10000, 2048);
    rep_12k = log_report(m, t, s.device, 0x100000, 0x10000, 12288);
    stop = feature(m, t, s.device, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
    m.teardown(t);
    // A driver without log_ops: -ENOTTY.
    m.emul = nullptr;
    auto s2 = m.setup(t, VFIO_TYPE1v2_IOMMU);
    no_log_ops = log_start(m, t, s2.device, 4096, {{0, 4096}}, 1).first;
    m.teardown(t);
  });
  EXPECT_EQ(none, -EINVAL);
  EXPECT_EQ(too_many, -E2BIG);
  EXPECT_EQ(unaligned, -EINVAL);
  EXPECT_EQ(overlap, -EINVAL);
  EXPECT_EQ(wraps, -EOVERFLOW);
  EXPECT_EQ(probe, 0);
  EXPECT_EQ(ok.first, 0);
  EXPECT_EQ(ok.second, 8192u) << "the driver's page size is copied back";
  EXPECT_EQ(log_state.starts, 1) << "only the valid START reached the driver";
  ASSERT_EQ(log_state.ranges.size(), 2u);
  EXPECT_EQ(log_state.ranges[0].start, 0x200000u);
  EXPECT_EQ(log_state.ranges[0].last, 0x20ffffu);
  EXPECT_EQ(rep.first, 0);
  EXPECT_EQ(rep.second, 0b1100u);
  EXPECT_EQ(rep_2k.first, -EINVAL);
  EXPECT_EQ(rep_12k.first, -EINVAL);
  EXPECT_EQ(log_state.reads, 1);
  EXPECT_EQ(stop, 0);
  EXPECT_EQ(log_state.stops, 1);
  EXPECT_EQ(no_log_ops, -ENOTTY);
  EXPECT_TRUE(m.kernel().leaks().empty());
}

namespace {
int suspends = 0, resumes = 0;
int resume_result = 0;
Machine* machine = nullptr;
const dev_pm_ops test_pm = {
    [](device*) {
      ++suspends;
      return 0;
    },
    [](device*) {
      ++resumes;
      return resume_result;
    },
};
}  // namespace

TEST(VfioDeviceFeature, C_53_RuntimeResumeFailureMakesDeviceIoctlsEio) {
  Machine m;
  machine = &m;
  std::vector<long> rets;
  bool suspended_after_first = false;
  m.ops.ioctl = [](vfio_device&, unsigned, uint64_t) -> long { return 0; };
  sctest::run_in_thread([&] {
    m.boot();
    PciPlatform& pci = m.pci();
    pci_dev& pdev = m.dev("0000:01:00.0");
    m.unbind("0000:01:00.0");
    // A driver with PM ops that allows runtime suspend and registers a vfio_device.
    auto drv = std::make_unique<pci_driver>();
    drv->name = "vfio-pm-test";
    drv->id_table = [](const pci_dev& d) { return d.devfn == 0 && d.bus && d.bus->number == 1; };
    drv->driver_managed_dma = true;
    drv->pm = &test_pm;
    drv->probe = [](pci_dev& d) {
      int err = 0;
      machine->emul = machine->vfio().vfio_alloc_device<emul_device>(&d.dev, &machine->ops, &err);
      if (int ret = machine->vfio().vfio_register_emulated_iommu_dev(&machine->emul->vdev)) return ret;
      pm_runtime_allow(&d.dev);
      pm_runtime_put_noidle(&d.dev);
      return 0;
    };
    drv->remove = [](pci_dev& d) {
      pm_runtime_get_noresume(&d.dev);
      pm_runtime_forbid(&d.dev);
      machine->vfio().vfio_unregister_group_dev(&machine->emul->vdev);
      machine->vfio().vfio_put_device(&machine->emul->vdev);
    };
    pci.drivers().register_driver(std::move(drv));
    ASSERT_NE(m.emul, nullptr);
    Task& t = pci.kernel().task("qemu");
    auto s = m.setup(t, VFIO_TYPE1v2_IOMMU);
    rets.push_back(m.sys().ioctl(t, s.device, VFIO_DEVICE_RESET, 0));  // resumes, runs, suspends again
    suspended_after_first = pdev.dev.power.suspended;
    resume_result = -EIO;
    rets.push_back(m.sys().ioctl(t, s.device, VFIO_DEVICE_RESET, 0));
    rets.push_back(m.sys().ioctl(t, s.device, VFIO_DEVICE_GET_INFO, 0));  // runtime_error is sticky
    rets.push_back(feature(m, t, s.device, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | 0x99));
    t.close_all();
    { CurrentScope cs(t); }
    m.unbind("0000:01:00.0");  // from vfio-pm-test
  });
  ASSERT_EQ(rets.size(), 4u);
  EXPECT_EQ(rets[0], 0);
  EXPECT_TRUE(suspended_after_first);
  EXPECT_EQ(rets[1], -EIO);
  EXPECT_EQ(rets[2], -EIO);
  EXPECT_EQ(rets[3], -EIO) << "DEVICE_FEATURE too";
  EXPECT_GE(suspends, 1);
  EXPECT_EQ(resumes, 1) << "a failed resume is not retried (runtime_error)";
  EXPECT_TRUE(m.kernel().leaks().empty());
}
