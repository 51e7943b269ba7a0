// eventfds as userspace uses them with VFIO: ops "eventfd" (create), "wait_eventfd" (poll, then
// read the count) and "eventfd_write" (add to the count: what userspace or KVM does to an
// UNMASK eventfd, or to test a trigger).
#include <cerrno>

#include "sim/app/steps/syscall.h"
#include "vfio/linux/fs/eventfd.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

class EventfdStep : public Step {
 public:
  EventfdStep(uint64_t initval, std::string as) : initval_(initval), as_(std::move(as)) {}
  void run(StepContext& ctx) override {
    const long ret = sys(ctx).eventfd2(task_of(ctx), static_cast<unsigned>(initval_), 0);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0 && !as_.empty()) names_of(ctx)[as_] = ret;
  }

 private:
  uint64_t initval_;
  std::string as_;
};

// Blocks like poll() on the eventfd then read()s it.
class WaitEventfdStep : public Step {
 public:
  WaitEventfdStep(json fd, double timeout_ns) : fd_(std::move(fd)), timeout_ns_(timeout_ns) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    const int fd = static_cast<int>(resolve(fd_, names));
    kernel::file* f = t.fget(fd);
    kernel::eventfd_ctx* e = kernel::eventfd_of(f);
    if (!e) {
      kernel::fput(f);
      ctx.outputs = errno_outputs(f ? -EINVAL : -EBADF);
      return;
    }
    const double t0 = sc_core::sc_time_stamp().to_seconds();
    const uint64_t count = kernel::eventfd_wait(e, sc_core::sc_time(timeout_ns_, sc_core::SC_NS));
    kernel::fput(f);
    ctx.outputs = count ? json{{"ret", 8}} : errno_outputs(-ETIMEDOUT);
    ctx.outputs["count"] = count;
    ctx.outputs["waited_ns"] = (sc_core::sc_time_stamp().to_seconds() - t0) * 1e9;
  }

 private:
  json fd_;
  double timeout_ns_;
};

// write(fd, &value, 8): on an eventfd, adds to the count and wakes the waiters (eventfd_write());
// on any other descriptor, whatever that file's write does.
class EventfdWriteStep : public Step {
 public:
  EventfdWriteStep(json fd, uint64_t value) : fd_(std::move(fd)), value_(value) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    const uint64_t ubuf = t.alloc_arg(&value_, sizeof value_);
    const long ret = sys(ctx).write(t, static_cast<int>(resolve(fd_, names)), ubuf, sizeof value_);
    ctx.outputs = errno_outputs(ret);
  }

 private:
  json fd_;
  uint64_t value_;
};

}  // namespace

std::vector<StepType> eventfd_step_types() {
  std::vector<StepType> out;
  {
    StepType t;
    t.op = "eventfd";
    t.desc = "eventfd(initval, 0): a counter descriptor, e.g. for VFIO_DEVICE_SET_IRQS";
    t.fields = {Field::integer("initval").describe("Initial count (an unsigned int)").defaults(0).at_least(0).at_most(0xffffffffLL),
                Field::string("as").describe("Name for the descriptor")};
    t.outputs = errno_fields();
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<EventfdStep>(s["initval"].get<uint64_t>(), s.value("as", ""));
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "wait_eventfd";
    t.desc = "poll() an eventfd until it is signalled (or the timeout passes), then read() its count";
    t.fields = {Field::any("fd").require().describe("An eventfd name or number"),
                Field::number("timeout_ns").with_unit("ns").describe("Give up after this long").defaults(1e9)
                    .at_least(0)};
    t.outputs = errno_fields();
    t.outputs.push_back(Field::integer("count").describe("The count read (0 on a timeout)"));
    t.outputs.push_back(Field::number("waited_ns").with_unit("ns").describe("How long the wait took"));
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<WaitEventfdStep>(s["fd"], s["timeout_ns"].get<double>());
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "eventfd_write";
    t.desc = "write(fd, &value, 8) to an eventfd: adds to its count and wakes whoever polls it (a VFIO UNMASK eventfd)";
    t.fields = {Field::any("fd").require().describe("An eventfd name or number"),
                Field::integer("value").describe("What to add to the count").defaults(1).at_least(1)};
    t.outputs = errno_fields();
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<EventfdWriteStep>(s["fd"], s["value"].get<uint64_t>());
    };
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vfiosim
