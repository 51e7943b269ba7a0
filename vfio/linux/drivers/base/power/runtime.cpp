#include "vfio/linux/drivers/base/power/runtime.h"

#include <cerrno>

#include "vfio/linux/drivers/base/core.h"

namespace vfiosim::kernel {

namespace {

// rpm_resume()
int rpm_resume(device* dev) {
  dev_pm_info& p = dev->power;
  if (p.runtime_error) return -EINVAL;
  if (!p.suspended) return 0;
  if (p.ops && p.ops->runtime_resume) {
    if (int ret = p.ops->runtime_resume(dev)) {
      p.runtime_error = ret;
      return ret;
    }
  }
  p.suspended = false;
  return 0;
}

// rpm_idle() + rpm_suspend(): with no users and suspend allowed, the driver's callback runs.
void rpm_idle(device* dev) {
  dev_pm_info& p = dev->power;
  if (p.usage_count > 0 || !p.runtime_auto || p.suspended || p.runtime_error) return;
  if (!p.ops || !p.ops->runtime_suspend) return;  // no callback: the device stays active
  if (int ret = p.ops->runtime_suspend(dev)) {
    if (ret != -EBUSY && ret != -EAGAIN) p.runtime_error = ret;
    return;
  }
  p.suspended = true;
}

}  // namespace

int pm_runtime_get_sync(device* dev) {
  ++dev->power.usage_count;
  return rpm_resume(dev);
}

int pm_runtime_resume_and_get(device* dev) {
  const int ret = pm_runtime_get_sync(dev);
  if (ret < 0) pm_runtime_put_noidle(dev);
  return ret < 0 ? ret : 0;
}

void pm_runtime_put(device* dev) {
  if (dev->power.usage_count > 0 && --dev->power.usage_count == 0) rpm_idle(dev);
}

void pm_runtime_put_noidle(device* dev) {
  if (dev->power.usage_count > 0) --dev->power.usage_count;
}

void pm_runtime_get_noresume(device* dev) { ++dev->power.usage_count; }

void pm_runtime_allow(device* dev) {
  if (dev->power.runtime_auto) return;
  dev->power.runtime_auto = true;
  pm_runtime_put(dev);
}

void pm_runtime_forbid(device* dev) {
  if (!dev->power.runtime_auto) return;
  dev->power.runtime_auto = false;
  ++dev->power.usage_count;
  rpm_resume(dev);
}

}  // namespace vfiosim::kernel
