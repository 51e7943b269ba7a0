// The process itself: ops "set_limits" (setrlimit()/capset(): RLIMIT_MEMLOCK, RLIMIT_NOFILE,
// CAP_IPC_LOCK, CAP_SYS_RAWIO) and "exec" (execve(): a new address space with locked_vm 0, the
// FD_CLOEXEC descriptors closed, the others inherited — names of closed descriptors and of the
// old address space's buffers are forgotten).
#include "sim/app/steps/syscall.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

class SetLimitsStep : public Step {
 public:
  explicit SetLimitsStep(json s) : s_(std::move(s)) {}
  void run(StepContext& ctx) override {
    kernel::Task& t = task_of(ctx);
    if (s_.contains("rlimit_memlock")) t.rlimit_memlock = s_["rlimit_memlock"].get<uint64_t>();
    if (s_.contains("rlimit_nofile")) t.rlimit_nofile = s_["rlimit_nofile"].get<unsigned>();
    if (s_.contains("cap_ipc_lock")) t.set_cap(kernel::CAP_IPC_LOCK, s_["cap_ipc_lock"].get<bool>());
    if (s_.contains("cap_sys_rawio")) t.set_cap(kernel::CAP_SYS_RAWIO, s_["cap_sys_rawio"].get<bool>());
    ctx.outputs = {{"ret", 0}, {"locked_vm", t.mm()->locked_vm}};
  }

 private:
  json s_;
};

class ExecStep : public Step {
 public:
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    sys(ctx).execve(t);
    for (auto it = names.begin(); it != names.end();) {  // what no longer names anything
      kernel::file* f = it->second >= 0 && it->second < (1 << 20) ? t.fget(static_cast<int>(it->second)) : nullptr;
      if (f) kernel::fput(f);
      it = f ? std::next(it) : names.erase(it);
    }
    ctx.outputs = {{"ret", 0}, {"locked_vm", task_of(ctx).mm()->locked_vm}};
  }
};

}  // namespace

std::vector<StepType> process_step_types() {
  std::vector<StepType> out;
  {
    StepType t;
    t.op = "set_limits";
    t.desc = "setrlimit()/capset() for the step's process: RLIMIT_MEMLOCK, RLIMIT_NOFILE, CAP_IPC_LOCK, CAP_SYS_RAWIO";
    t.fields = {Field::size("rlimit_memlock").with_unit("bytes").describe("RLIMIT_MEMLOCK (default 64 MiB)"),
                Field::integer("rlimit_nofile").describe("RLIMIT_NOFILE (default 1024)").at_least(1).at_most(1 << 20),
                Field::boolean("cap_ipc_lock").describe("Hold CAP_IPC_LOCK"),
                Field::boolean("cap_sys_rawio").describe("Hold CAP_SYS_RAWIO")};
    t.outputs = {Field::integer("ret").describe("0"), Field::integer("locked_vm").describe("mm->locked_vm (pages)")};
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<SetLimitsStep>(s);
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "exec";
    t.desc = "execve() in the step's process: a new address space (locked_vm 0); descriptors without FD_CLOEXEC "
             "(a container opened with open) stay open";
    t.outputs = {Field::integer("ret").describe("0"), Field::integer("locked_vm").describe("the new mm's locked_vm (pages)")};
    t.prepare = [](const json&, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<ExecStep>();
    };
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vfiosim
