// The simulated host's Linux kernel apart from any bus: the CPU cost model, the page allocators
// (the kernel's own pages and userspace's), the VFS with its device nodes, the system-call layer,
// the irq layer, the tasks, and boot through initcalls (init/main.c's do_initcalls()), by which
// subsystems — the PCI core and its drivers, the iommu layer, VFIO, later the s390 css bus —
// come up in level order. A subsystem registers, besides its initcalls, what it checks for leaks
// at the end of a run and what it does at shutdown (device_shutdown()); the kernel itself knows
// nothing of any bus. A platform without PCI still has this kernel, so scenario processes run
// on it (open, eventfd, mmap, exec, exit).
// Not modelled: SMP scheduling (a task runs on the CPU port of the one host CPU), modules
// (everything is built in), the page cache and filesystems other than the device nodes and sysfs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/cpu/host_port.h"
#include "models/cpu/interrupt_controller.h"
#include "sim/stats/group.h"
#include "vfio/linux/kernel/cpu_cost.h"
#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/kernel/syscalls.h"
#include "vfio/linux/kernel/task.h"
#include "vfio/linux/mm/page_alloc.h"
#include "vfio/linux/fs/sysfs/file.h"

namespace vfiosim::kernel {

/// What the kernel is given at boot: its CPU clock and cost overrides, the CPUs whose local APICs
/// take vectors, and where in host memory its own pages and userspace's pages are.
struct KernelParams {
  uint64_t cpu_mhz = 2200;
  std::map<std::string, uint64_t> costs;  // cost-table overrides by name
  unsigned nr_cpus = 4;
  uint64_t memory_base = 0;  // the kernel's pages (page tables, queues)
  uint64_t memory_size = 0;
  uint64_t user_base = 0;    // userspace's pages (mmap), below the kernel's
  uint64_t user_size = 0;
};

/// The initcall levels of include/linux/init.h, in the order do_initcalls() runs them.
enum class Initcall { core = 1, postcore, arch, subsys, fs, rootfs, device, late };

class Kernel {
 public:
  /// `system` is the platform's stats group; the kernel's stats go in its "kernel" child.
  Kernel(HostPort& cpu, InterruptController& apic, const KernelParams& params, stats::Group& system);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  const KernelParams& params() const { return params_; }
  HostPort& cpu() { return cpu_; }
  CpuCosts& costs() { return *costs_; }
  PageAllocator& pages() { return *pages_; }
  UserPageAllocator& user_pages() { return *user_pages_; }
  Vfs& vfs() { return vfs_; }
  /// What read/write/readlink/getdents on /sys see (the tree itself is sysfs_root()).
  Sysfs& sysfs() { return sysfs_; }
  Syscalls& syscalls() { return *syscalls_; }
  IrqCore& irqs() { return *irqs_; }
  /// The "kernel" stats group, for subsystems to hang their own groups and stats on.
  stats::Group& stats() { return stats_; }

  /// The task of that name (created on first use, pid 1001, 1002, ...).
  Task& task(const std::string& comm);
  Task* find_task(const std::string& comm);
  /// The process exits: its task closes every file it still holds (do_exit()'s exit_files()).
  void exit_task(const std::string& comm);

  /// Registers `fn` to run at boot at `level` (after every initcall registered before it at that
  /// level); `name` is what a failing initcall is reported as.
  void initcall(Initcall level, std::string name, std::function<int()> fn);
  /// do_initcalls(): every initcall in level order. A failing one is reported in the kernel log
  /// ("initcall <name> returned -E...") and boot goes on, as Linux does. Runs in a SystemC thread.
  void boot();
  bool booted() const { return booted_; }

  /// A subsystem's end-of-run check: what it still holds (empty when every object was freed).
  void add_leak_check(std::function<std::vector<std::string>()> check);
  /// A subsystem's part of device_shutdown(): run in reverse registration order.
  void add_shutdown(std::function<void()> fn);
  /// Every subsystem's leaks, then the struct files still alive.
  std::vector<std::string> leaks();
  /// device_shutdown(): unbinds what the subsystems unbind at power-off (waits for users left).
  void shutdown();

 private:
  struct InitcallEntry {
    Initcall level;
    std::string name;
    std::function<int()> fn;
  };

  HostPort& cpu_;
  KernelParams params_;
  stats::Group& stats_;
  std::unique_ptr<CpuCosts> costs_;
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<UserPageAllocator> user_pages_;
  Vfs vfs_;
  Sysfs sysfs_;
  std::unique_ptr<Syscalls> syscalls_;
  std::unique_ptr<IrqCore> irqs_;
  std::map<std::string, std::unique_ptr<Task>> tasks_;
  std::vector<InitcallEntry> initcalls_;
  std::vector<std::function<std::vector<std::string>()>> leak_checks_;
  std::vector<std::function<void()>> shutdown_;
  bool booted_ = false;
};

}  // namespace vfiosim::kernel
