// Userspace's view of the kernel's PCI state: ops "sysfs_read", "sysfs_write", "sysfs_list",
// "sysfs_readlink" (the VFIO-relevant part of sysfs, with the kernel's errors), and
// "pci_config_read" / "pci_config_write" (config space of a device, as through its sysfs config
// file: timed config cycles). Sysfs attribute accesses take no simulated CPU time yet (no
// software cost model); binding a driver runs its probe, whose config and MMIO accesses are timed.
#include "sim/app/platform.h"
#include "sim/app/steps/step.h"
#include "sim/app/steps/syscall.h"
#include "vfio/linux/lib/errname.h"

namespace vfiosim {

namespace {

using config::Field;
using userspace::needs_pci;

nlohmann::json outcome(const kernel::SysfsResult& r, bool with_value, bool with_entries, size_t written = 0) {
  nlohmann::json o;
  if (r.err < 0) {
    o["ret"] = -1;
    o["errno"] = kernel::errno_name(r.err);
    return o;
  }
  o["ret"] = with_value ? static_cast<int64_t>(r.value.size()) : static_cast<int64_t>(written ? written : 0);
  if (with_value) o["value"] = r.value;
  if (with_entries) o["entries"] = r.entries;
  return o;
}

enum class SysfsOp { Read, Write, List, Readlink };

class SysfsStep : public Step {
 public:
  SysfsStep(SysfsOp op, std::string path, std::string value) : op_(op), path_(std::move(path)), value_(std::move(value)) {}
  void run(StepContext& ctx) override {
    kernel::Sysfs& fs = ctx.platform.kernel()->sysfs();
    switch (op_) {
      case SysfsOp::Read: ctx.outputs = outcome(fs.read(path_), true, false); break;
      case SysfsOp::Readlink: ctx.outputs = outcome(fs.readlink(path_), true, false); break;
      case SysfsOp::List: ctx.outputs = outcome(fs.list(path_), false, true); break;
      case SysfsOp::Write: {
        const auto r = fs.write(path_, value_);
        ctx.outputs = outcome(r, false, false, value_.size());
        if (r.err >= 0) ctx.outputs["ret"] = r.err;
        break;
      }
    }
  }

 private:
  SysfsOp op_;
  std::string path_;
  std::string value_;
};


StepType sysfs_type(const char* op, SysfsOp kind, const char* desc) {
  StepType t;
  t.op = op;
  t.desc = desc;
  t.fields = {Field::string("path").require().describe("Absolute sysfs path, e.g. /sys/bus/pci/devices/0000:01:00.0/vendor")};
  if (kind == SysfsOp::Write) t.fields.push_back(Field::string("value").require().describe("Bytes to write"));
  t.outputs = {Field::integer("ret").describe("Bytes read or written, or -1"),
               Field::string("errno").describe("The kernel's error when ret is -1 (e.g. \"EBUSY\")")};
  if (kind == SysfsOp::Read || kind == SysfsOp::Readlink)
    t.outputs.push_back(Field::string("value").describe("File contents or link target"));
  if (kind == SysfsOp::List) t.outputs.push_back(Field::any("entries").describe("Directory entries, sorted"));
  t.prepare = [kind](const nlohmann::json& s, const std::string& ptr, const PlatformConfig& p,
                     config::Issues& issues) -> std::unique_ptr<Step> {
    if (!needs_pci(p, ptr, issues)) return nullptr;
    const auto path = s["path"].get<std::string>();
    if (path.empty() || path[0] != '/') issues.add(ptr + "/path", "expected an absolute path, got \"" + path + "\"");
    return std::make_unique<SysfsStep>(kind, path, s.contains("value") ? s["value"].get<std::string>() : "");
  };
  return t;
}

class ConfigStep : public Step {
 public:
  ConfigStep(Bdf bdf, uint32_t offset, unsigned size, std::optional<uint32_t> value)
      : bdf_(bdf), offset_(offset), size_(size), value_(value) {}
  void run(StepContext& ctx) override {
    kernel::PciCore& k = ctx.platform.pci()->core();
    if (value_) {
      k.bus_write_config(bdf_.bus, bdf_.devfn(), static_cast<int>(offset_), static_cast<int>(size_), *value_);
      ctx.outputs = {{"ret", size_}};
    } else {
      const uint32_t v = k.bus_read_config(bdf_.bus, bdf_.devfn(), static_cast<int>(offset_), static_cast<int>(size_));
      ctx.outputs = {{"ret", size_}, {"value", v}};
    }
  }

 private:
  Bdf bdf_;
  uint32_t offset_;
  unsigned size_;
  std::optional<uint32_t> value_;
};

StepType config_type(bool write) {
  StepType t;
  t.op = write ? "pci_config_write" : "pci_config_read";
  t.desc = write ? "Write a device's config space (timed config cycle through the root complex)"
                 : "Read a device's config space (timed config cycle through the root complex)";
  t.fields = {Field::string("device").require().describe("BDF, e.g. \"01:00.0\""),
              Field::size("offset").with_unit("bytes").require().describe("Register offset (0-4095)").at_most(4095),
              Field::integer("size").with_unit("bytes").describe("Access size: 1, 2 or 4").defaults(4).at_least(1)
                  .at_most(4)};
  if (write) t.fields.push_back(Field::size("value").require().describe("Value to write").at_most(4294967295.0));
  t.outputs = {Field::integer("ret").describe("Bytes accessed")};
  if (!write) t.outputs.push_back(Field::integer("value").describe("Value read (all ones if no function answers)"));
  t.prepare = [write](const nlohmann::json& s, const std::string& ptr, const PlatformConfig& p,
                      config::Issues& issues) -> std::unique_ptr<Step> {
    if (!needs_pci(p, ptr, issues)) return nullptr;
    const auto bdf = Bdf::parse(s["device"].get<std::string>());
    if (!bdf) {
      issues.add(ptr + "/device", "expected \"bb:dd.f\", got \"" + s["device"].get<std::string>() + "\"");
      return nullptr;
    }
    const auto size = s["size"].get<unsigned>();
    const auto offset = s["offset"].get<uint32_t>();
    if (size == 3) issues.add(ptr + "/size", "expected 1, 2 or 4, got 3");
    else if (offset % size) issues.add(ptr + "/offset", "a " + std::to_string(size) + "-byte access must be aligned");
    std::optional<uint32_t> value;
    if (write) value = static_cast<uint32_t>(s["value"].get<uint64_t>());
    return std::make_unique<ConfigStep>(*bdf, offset, size, value);
  };
  return t;
}

}  // namespace

std::vector<StepType> kernel_step_types() {
  return {sysfs_type("sysfs_read", SysfsOp::Read, "Read a sysfs file"),
          sysfs_type("sysfs_write", SysfsOp::Write, "Write a sysfs file (driver_override, bind, unbind, drivers_probe)"),
          sysfs_type("sysfs_list", SysfsOp::List, "List a sysfs directory"),
          sysfs_type("sysfs_readlink", SysfsOp::Readlink, "Read a sysfs link (iommu_group, driver)"),
          config_type(false), config_type(true)};
}

}  // namespace vfiosim
