#include "vfio/linux/kernel/kernel.h"

#include <algorithm>

#include "vfio/linux/lib/errname.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

Kernel::Kernel(HostPort& cpu, InterruptController& apic, const KernelParams& params, stats::Group& system)
    : cpu_(cpu), params_(params), stats_(system.child("kernel")) {
  costs_ = std::make_unique<CpuCosts>(params_.cpu_mhz, params_.costs, stats_.child("cpu"));
  syscalls_ = std::make_unique<Syscalls>(vfs_, *costs_);
  // The irq layer: the vector domain over the CPUs' local APICs.
  irqs_ = std::make_unique<IrqCore>(apic, params_.nr_cpus);
  pages_ = std::make_unique<PageAllocator>(cpu_, *costs_, params_.memory_base, params_.memory_size, stats_.child("mm"));
  user_pages_ = std::make_unique<UserPageAllocator>(params_.user_base, params_.user_size);
}

Kernel::~Kernel() = default;

Task& Kernel::task(const std::string& comm) {
  auto& slot = tasks_[comm];
  if (!slot) slot = std::make_unique<Task>(1000 + static_cast<int>(tasks_.size()), comm, cpu_, *user_pages_);
  return *slot;
}

Task* Kernel::find_task(const std::string& comm) {
  auto it = tasks_.find(comm);
  return it == tasks_.end() ? nullptr : it->second.get();
}

void Kernel::exit_task(const std::string& comm) {
  Task* t = find_task(comm);
  if (!t) return;
  CurrentScope scope(*t);
  t->close_all();
}

void Kernel::initcall(Initcall level, std::string name, std::function<int()> fn) {
  initcalls_.push_back({level, std::move(name), std::move(fn)});
}

// do_initcalls() (init/main.c): level by level, each level's calls in link (here: registration)
// order; do_one_initcall() only reports a failure.
void Kernel::boot() {
  std::stable_sort(initcalls_.begin(), initcalls_.end(),
                   [](const InitcallEntry& a, const InitcallEntry& b) { return a.level < b.level; });
  for (const auto& c : initcalls_) {
    const int ret = c.fn();
    if (ret < 0) kernel_warn("pr_warn", "initcall " + c.name + " returned " + errno_name(ret));
  }
  booted_ = true;
}

void Kernel::add_leak_check(std::function<std::vector<std::string>()> check) {
  leak_checks_.push_back(std::move(check));
}

void Kernel::add_shutdown(std::function<void()> fn) { shutdown_.push_back(std::move(fn)); }

std::vector<std::string> Kernel::leaks() {
  std::vector<std::string> out;
  for (const auto& check : leak_checks_)
    for (auto& l : check()) out.push_back(std::move(l));
  if (live_files()) out.push_back(std::to_string(live_files()) + " struct file(s) still open");
  return out;
}

// device_shutdown() (drivers/base/core.c) walks the devices in reverse order of their addition;
// the subsystems registered last go first.
void Kernel::shutdown() {
  for (auto it = shutdown_.rbegin(); it != shutdown_.rend(); ++it) (*it)();
}

}  // namespace vfiosim::kernel
