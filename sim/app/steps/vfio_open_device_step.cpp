// Op "vfio_open_device": the prologue every VFIO program starts with, as one step. Optionally the
// device is handed to vfio-pci through sysfs (unbind from its driver, driver_override, drivers_probe),
// then: open /dev/vfio/vfio, open the device's group node (found through its iommu_group link),
// VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_GROUP_GET_DEVICE_FD. Every call is the one the
// spelled-out steps make (the same sysfs writes and system calls with the same arguments in the
// same order), so the simulated time is the same; it stops at the first call that fails and
// reports that call and the kernel's errno.
#include <linux/vfio.h>

#include "sim/app/platform.h"
#include "sim/app/steps/step.h"
#include "sim/app/steps/syscall.h"
#include "vfio/uapi/ioctls.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

class VfioOpenDeviceStep : public Step {
 public:
  VfioOpenDeviceStep(std::string device, json iommu, bool bind, std::string container_as, std::string group_as,
                     std::string as)
      : device_(std::move(device)),
        iommu_(std::move(iommu)),
        bind_(bind),
        container_as_(std::move(container_as)),
        group_as_(std::move(group_as)),
        as_(std::move(as)) {}

  void run(StepContext& ctx) override {
    PciPlatform& pci = *ctx.platform.pci();
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    calls_ = json::array();
    ctx.outputs = {{"ret", 0}};
    const std::string dev_dir = "/sys/bus/pci/devices/" + device_ + "/";
    if (bind_) {
      const kernel::SysfsResult drv = pci.sysfs().readlink(dev_dir + "driver");
      if (drv.err == 0) {
        const std::string driver = drv.value.substr(drv.value.rfind('/') + 1);
        if (!sysfs_write(ctx, "unbind", "/sys/bus/pci/drivers/" + driver + "/unbind", device_)) return;
      }
      if (!sysfs_write(ctx, "driver_override", dev_dir + "driver_override", "vfio-pci")) return;
      if (!sysfs_write(ctx, "drivers_probe", "/sys/bus/pci/drivers_probe", device_)) return;
    }
    const kernel::SysfsResult link = pci.sysfs().readlink(dev_dir + "iommu_group");
    if (!record(ctx, "iommu_group", link.err < 0 ? link.err : static_cast<long>(link.value.size()))) return;
    const std::string group_node = "/dev/vfio/" + link.value.substr(link.value.rfind('/') + 1);

    const long container = sys(ctx).open(t, "/dev/vfio/vfio");
    if (!record(ctx, "open /dev/vfio/vfio", container)) return;
    name(ctx, names, "container", container_as_, container);
    const long group = sys(ctx).open(t, group_node);
    if (!record(ctx, "open " + group_node, group)) return;
    name(ctx, names, "group", group_as_, group);

    const int c = static_cast<int>(container);
    if (!record(ctx, "VFIO_GROUP_SET_CONTAINER",
                sys(ctx).ioctl(t, static_cast<int>(group), VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&c, sizeof c))))
      return;
    const uint64_t model = static_cast<uint64_t>(resolve(iommu_, names));
    if (!record(ctx, "VFIO_SET_IOMMU", sys(ctx).ioctl(t, c, VFIO_SET_IOMMU, model))) return;
    const long device = sys(ctx).ioctl(t, static_cast<int>(group), VFIO_GROUP_GET_DEVICE_FD,
                                       t.alloc_arg(device_.c_str(), device_.size() + 1));
    if (!record(ctx, "VFIO_GROUP_GET_DEVICE_FD", device)) return;
    name(ctx, names, "device", as_, device);
  }

 private:
  // A sysfs write as the sysfs_write op makes it; its result is the bytes written.
  bool sysfs_write(StepContext& ctx, const std::string& call, const std::string& path, const std::string& value) {
    const kernel::SysfsResult r = ctx.platform.pci()->sysfs().write(path, value);
    return record(ctx, call, r.err);
  }

  // Adds the call to `calls`; on failure the step's ret is -1 with the call and its errno.
  bool record(StepContext& ctx, const std::string& call, long ret) {
    json c = errno_outputs(ret);
    c["call"] = call;
    calls_.push_back(c);
    ctx.outputs["calls"] = calls_;
    if (ret >= 0) return true;
    ctx.outputs["ret"] = -1;
    ctx.outputs["errno"] = c["errno"];
    ctx.outputs["failed"] = call;
    return false;
  }

  static void name(StepContext& ctx, std::map<std::string, int64_t>& names, const char* output, const std::string& as,
                   long fd) {
    ctx.outputs[output] = fd;
    if (!as.empty()) names[as] = fd;
  }

  std::string device_;  // "0000:bb:dd.f"
  json iommu_;
  bool bind_;
  std::string container_as_, group_as_, as_;
  json calls_;
};

}  // namespace

StepType vfio_open_device_step_type() {
  StepType t;
  t.op = "vfio_open_device";
  t.desc = "A VFIO program's prologue as one step: [bind the device to vfio-pci through sysfs,] open the container "
           "and the device's group, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_GROUP_GET_DEVICE_FD; the same "
           "calls as the spelled-out steps, stopping at the first that fails";
  t.fields = {Field::string("device").require().describe("The device's BDF, e.g. \"0000:01:00.0\" (its name for "
                                                          "GET_DEVICE_FD)"),
              Field::any("iommu").defaults("VFIO_TYPE1v2_IOMMU").describe("The VFIO_SET_IOMMU type"),
              Field::boolean("bind").defaults(false).describe("First unbind the device's driver, set driver_override "
                                                              "to vfio-pci and write drivers_probe"),
              Field::string("container_as").describe("Name for the container descriptor"),
              Field::string("group_as").describe("Name for the group descriptor"),
              Field::string("as").describe("Name for the device descriptor")};
  t.outputs = errno_fields();
  t.outputs.push_back(Field::string("failed").describe("The call that failed (\"VFIO_SET_IOMMU\", \"open /dev/vfio/1\", "
                                                       "\"drivers_probe\", ...)"));
  t.outputs.push_back(Field::integer("container").describe("The container descriptor"));
  t.outputs.push_back(Field::integer("group").describe("The group descriptor"));
  t.outputs.push_back(Field::integer("device").describe("The device descriptor"));
  t.outputs.push_back(Field::any("calls").describe("Every call made, in order: {call, ret[, errno]}"));
  t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
      -> std::unique_ptr<Step> {
    if (!needs_pci(p, ptr, issues)) return nullptr;
    const auto bdf = Bdf::parse(s["device"].get<std::string>());
    if (!bdf) {
      issues.add(ptr + "/device", "expected \"bb:dd.f\" or \"0000:bb:dd.f\", got \"" + s["device"].get<std::string>() + "\"");
      return nullptr;
    }
    const json& iommu = s["iommu"];
    if (!(iommu.is_number_unsigned() || (iommu.is_string() && uapi::vfio_constant(iommu.get<std::string>())))) {
      issues.add(ptr + "/iommu", "expected a VFIO IOMMU type (\"VFIO_TYPE1v2_IOMMU\", \"VFIO_TYPE1_IOMMU\", "
                                 "\"VFIO_NOIOMMU_IOMMU\") or a number, got " + iommu.dump());
      return nullptr;
    }
    return std::make_unique<VfioOpenDeviceStep>(bdf->str(), iommu, s["bind"].get<bool>(), s.value("container_as", ""),
                                                s.value("group_as", ""), s.value("as", ""));
  };
  return t;
}

}  // namespace vfiosim
