// The device fd's ioctl (vfio_main.c, v6.1): runtime-PM resume around every call
// (vfio_device_pm_runtime_get/put), VFIO_DEVICE_FEATURE's header checks and the core's features —
// DMA logging through the driver's log_ops (START, STOP, REPORT with an iova_bitmap) — and the
// driver's own ioctl for everything else. Migration (mig_ops) is not ported: no driver has it.
#include <linux/vfio.h>

#include <cerrno>
#include <map>
#include <vector>

#include "vfio/linux/drivers/pci/pci.h"
#include "vfio/linux/drivers/vfio/iova_bitmap.h"
#include "vfio/linux/drivers/vfio/vfio.h"

namespace vfiosim::kernel {

namespace {

constexpr uint32_t kLogMaxRanges = 4096 / sizeof(vfio_device_feature_dma_logging_range);  // LOG_MAX_RANGES

bool is_aligned(uint64_t x, uint64_t a) { return (x & (a - 1)) == 0; }  // IS_ALIGNED()

// vfio_device_pm_runtime_get(): only a bound driver with PM ops resumes the device (of any bus).
int vfio_device_pm_runtime_get(vfio_device* device) {
  struct device* dev = device->dev;
  if (dev && dev->power.ops) {
    if (int ret = pm_runtime_resume_and_get(dev)) {
      kernel_warn("dev_info", dev_name(device->dev) + ": vfio: runtime resume failed " + std::to_string(ret));
      return -EIO;
    }
  }
  return 0;
}

// vfio_device_pm_runtime_put()
void vfio_device_pm_runtime_put(vfio_device* device) {
  struct device* dev = device->dev;
  if (dev && dev->power.ops) pm_runtime_put(dev);
}

}  // namespace

// vfio_device_fops_unl_ioctl(): DEVICE_FEATURE is the core's, everything else the driver's.
long Vfio::device_ioctl(file& f, unsigned cmd, uint64_t arg) {
  auto* device = static_cast<vfio_device*>(f.private_data);
  if (int ret = vfio_device_pm_runtime_get(device)) return ret;
  long ret;
  if (cmd == VFIO_DEVICE_FEATURE)
    ret = device_feature(device, arg);
  else
    ret = device->ops->ioctl ? device->ops->ioctl(*device, cmd, arg) : -EINVAL;
  vfio_device_pm_runtime_put(device);
  return ret;
}

// vfio_ioctl_device_feature()
long Vfio::device_feature(vfio_device* device, uint64_t arg) {
  vfio_device_feature feature{};
  Task* t = current();
  if (t->copy_from_user(&feature, arg, 8)) return -EFAULT;
  if (feature.argsz < 8) return -EINVAL;
  const uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
                         VFIO_DEVICE_FEATURE_PROBE;
  if (feature.flags & ~known) return -EINVAL;
  if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) && (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
      (feature.flags & VFIO_DEVICE_FEATURE_GET))
    return -EINVAL;
  const uint64_t data = arg + 8;
  const size_t size = feature.argsz - 8;
  switch (feature.flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_MIGRATION:
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
      return -ENOTTY;  // no mig_ops in the drivers ported so far
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START: return logging_start(device, feature.flags, data, size);
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP: return logging_stop(device, feature.flags, data, size);
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: return logging_report(device, feature.flags, data, size);
    default:
      if (!device->ops->device_feature) return -EINVAL;
      return device->ops->device_feature(*device, feature.flags, data, size);
  }
}

// vfio_ioctl_device_feature_logging_start()
long Vfio::logging_start(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz) {
  if (!device->log_ops) return -ENOTTY;
  vfio_device_feature_dma_logging_control control{};
  int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof control);
  if (ret != 1) return ret;
  Task* t = current();
  if (t->copy_from_user(&control, arg, sizeof control)) return -EFAULT;
  const uint32_t nnodes = control.num_ranges;
  if (!nnodes) return -EINVAL;
  if (nnodes > kLogMaxRanges) return -E2BIG;
  std::vector<vfio_log_range> nodes;
  std::map<uint64_t, uint64_t> tree;  // the interval tree: start -> last
  for (uint32_t i = 0; i < nnodes; ++i) {
    vfio_device_feature_dma_logging_range range{};
    if (t->copy_from_user(&range, control.ranges + i * sizeof range, sizeof range)) return -EFAULT;
    if (!is_aligned(range.iova, control.page_size) || !is_aligned(range.length, control.page_size)) return -EINVAL;
    if (range.iova + range.length < range.iova) return -EOVERFLOW;  // check_add_overflow (> ULONG_MAX: same)
    const vfio_log_range node{range.iova, range.iova + range.length - 1};
    // interval_tree_iter_first(): any stored range overlapping [start, last].
    auto it = tree.upper_bound(node.last);
    if (it != tree.begin() && std::prev(it)->second >= node.start) return -EINVAL;  // overlapping
    tree[node.start] = node.last;
    nodes.push_back(node);
  }
  uint64_t page_size = control.page_size;
  if ((ret = device->log_ops->log_start(*device, nodes, page_size))) return ret;
  control.page_size = page_size;
  if (t->copy_to_user(arg, &control, sizeof control)) {
    device->log_ops->log_stop(*device);
    return -EFAULT;
  }
  return 0;
}

// vfio_ioctl_device_feature_logging_stop()
long Vfio::logging_stop(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz) {
  if (!device->log_ops) return -ENOTTY;
  const int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);
  if (ret != 1) return ret;
  return device->log_ops->log_stop(*device);
}

// vfio_ioctl_device_feature_logging_report(): the driver reads and clears its log into the
// user's bitmap, one iova_bitmap chunk at a time.
long Vfio::logging_report(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz) {
  if (!device->log_ops) return -ENOTTY;
  vfio_device_feature_dma_logging_report report{};
  const int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET, sizeof report);
  if (ret != 1) return ret;
  Task* t = current();
  if (t->copy_from_user(&report, arg, sizeof report)) return -EFAULT;
  if (report.page_size < 4096 || (report.page_size & (report.page_size - 1))) return -EINVAL;
  if (report.iova + report.length < report.iova) return -EOVERFLOW;
  if (!report.length) return -EINVAL;  // iova_bitmap_alloc() of an empty range
  iova_bitmap bitmap(*t, report.iova, report.length, report.page_size, report.bitmap);
  return bitmap.for_each([&](uint64_t iova, uint64_t length) {
    return device->log_ops->log_read_and_clear(*device, iova, length, bitmap);
  });
}

}  // namespace vfiosim::kernel
