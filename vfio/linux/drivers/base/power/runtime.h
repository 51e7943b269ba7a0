// Runtime power management as drivers/base/power/runtime.c has it, reduced to what VFIO's
// callers observe: a usage count, whether runtime suspend is allowed (power/control "auto"),
// the active/suspended status, the sticky runtime_error of a failed callback, and the driver's
// dev_pm_ops runtime_suspend/runtime_resume called synchronously, all on a struct device of any
// bus (dev->power). PCI devices start forbidden (pci_pm_init: power/control "on"); the PCI driver
// core holds a usage reference across probe and remove (local_pci_probe, pci_device_remove). Not modelled: autosuspend delays, asynchronous
// idle work, suppliers and parents, system sleep, the PCI D-state changes of pci_pm_runtime_*.
#pragma once

#include <functional>

namespace vfiosim::kernel {

struct device;

/// struct dev_pm_ops (runtime callbacks only).
struct dev_pm_ops {
  std::function<int(device*)> runtime_suspend;
  std::function<int(device*)> runtime_resume;
};

/// struct dev_pm_info (the runtime part).
struct dev_pm_info {
  int usage_count = 0;
  bool runtime_auto = true;  // false: pm_runtime_forbid()
  bool suspended = false;    // RPM_SUSPENDED
  int runtime_error = 0;     // a callback failed; every later resume is -EINVAL
  const dev_pm_ops* ops = nullptr;  // dev->driver->pm of the bound driver (nullptr: none)
};

/// pm_runtime_get_sync(): take a usage reference and resume. Returns the resume's result (the
/// reference is kept even on failure, as in the kernel).
int pm_runtime_get_sync(device* dev);
/// pm_runtime_resume_and_get(): as get_sync, but drops the reference again on failure.
int pm_runtime_resume_and_get(device* dev);
/// pm_runtime_put() / pm_runtime_put_sync(): drop a reference; at zero, suspend if allowed.
void pm_runtime_put(device* dev);
void pm_runtime_put_noidle(device* dev);
void pm_runtime_get_noresume(device* dev);
/// pm_runtime_allow() / pm_runtime_forbid(): power/control "auto" / "on".
void pm_runtime_allow(device* dev);
void pm_runtime_forbid(device* dev);

}  // namespace vfiosim::kernel
