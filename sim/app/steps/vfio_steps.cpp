// Userspace system calls on the VFIO device nodes, as a program like QEMU makes them: ops "open",
// "close", "ioctl" (every <linux/vfio.h> request, its struct written as JSON with the header's
// field and flag names; the UAPI module vfio/uapi/uapi.h encodes and decodes it), "mmap" (anonymous or hugetlb memory for MAP_DMA); "pread"/"pwrite" are in
// region_rw_steps.cpp. Each step runs in its scenario process's simulated task; a descriptor or buffer gets a name with "as"
// that later steps use. Results are ret and errno as userspace sees them, plus the struct's fields
// after the call.
#include "sim/app/platform.h"
#include "sim/app/steps/step.h"
#include "sim/app/steps/syscall.h"
#include "vfio/uapi/layout.h"
#include "vfio/uapi/uapi.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

class OpenStep : public Step {
 public:
  OpenStep(std::string path, std::string as) : path_(std::move(path)), as_(std::move(as)) {}
  void run(StepContext& ctx) override {
    const long ret = sys(ctx).open(task_of(ctx), path_);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0 && !as_.empty()) names_of(ctx)[as_] = ret;
  }

 private:
  std::string path_, as_;
};

class CloseStep : public Step {
 public:
  explicit CloseStep(json fd) : fd_(std::move(fd)) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    const int fd = static_cast<int>(resolve(fd_, names));
    ctx.outputs = errno_outputs(sys(ctx).close(task_of(ctx), fd));
  }

 private:
  json fd_;
};

class MmapStep : public Step {
 public:
  MmapStep(uint64_t size, bool huge, std::string as, json fd, uint64_t offset, bool shared)
      : size_(size), huge_(huge), as_(std::move(as)), fd_(std::move(fd)), offset_(offset), shared_(shared) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    // A file mapping (the driver's mmap decides), or anonymous [hugetlb] memory.
    const int fd = fd_.is_null() ? -1 : static_cast<int>(resolve(fd_, names));
    const int flags = fd_.is_null() ? kernel::SYS_MAP_PRIVATE | kernel::SYS_MAP_ANONYMOUS | (huge_ ? kernel::SYS_MAP_HUGETLB : 0)
                                    : shared_ ? kernel::SYS_MAP_SHARED : kernel::SYS_MAP_PRIVATE;
    const long ret = sys(ctx).mmap(task_of(ctx), 0, size_, kernel::SYS_PROT_READ | kernel::SYS_PROT_WRITE, flags, fd, offset_);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0) {
      ctx.outputs["vaddr"] = ret;
      if (!as_.empty()) names_of(ctx)[as_] = ret;
    }
  }

 private:
  uint64_t size_;
  bool huge_;
  std::string as_;
  json fd_;
  uint64_t offset_;
  bool shared_;
};

// A load or store by the process (no system call): to its memory or to a device it mapped.
class UserAccessStep : public Step {
 public:
  UserAccessStep(bool write, json address, uint64_t offset, unsigned size, json value)
      : write_(write), address_(std::move(address)), offset_(offset), size_(size), value_(std::move(value)) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    const uint64_t uaddr = static_cast<uint64_t>(resolve(address_, names)) + offset_;
    uint64_t v = write_ ? static_cast<uint64_t>(resolve(value_, names)) : 0;
    const kernel::UserAccess r = t.user_access(uaddr, &v, size_, write_);
    if (r == kernel::UserAccess::Ok) {
      ctx.outputs = {{"signal", "none"}};
      if (!write_) ctx.outputs["value"] = v;
    } else {
      ctx.outputs = {{"signal", r == kernel::UserAccess::Bus ? "SIGBUS" : "SIGSEGV"}};
    }
  }

 private:
  bool write_;
  json address_;
  uint64_t offset_;
  unsigned size_;
  json value_;
};

class IoctlStep : public Step {
 public:
  IoctlStep(json fd, const uapi::IoctlInfo* info, json arg, std::string as)
      : fd_(std::move(fd)), info_(info), arg_(std::move(arg)), as_(std::move(as)) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    const int fd = static_cast<int>(resolve(fd_, names));
    const auto arg = uapi::encode(*info_, arg_, resolver_of(names));
    if (!arg) throw StepError(arg.error().path.empty() ? arg.error().message : "arg" + arg.error().text());
    uint64_t uarg = arg->kind == uapi::Encoded::Kind::Value ? arg->value : 0;
    if (arg->kind == uapi::Encoded::Kind::Pointer) uarg = t.alloc_arg(arg->bytes.data(), arg->bytes.size());
    const long ret = sys(ctx).ioctl(t, fd, info_->cmd, uarg);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0 && !as_.empty()) names[as_] = ret;
    if (info_->arg == uapi::IoctlArg::Struct && uarg) {
      std::vector<uint8_t> out(arg->bytes.size());
      t.copy_from_user(out.data(), uarg, out.size());
      const json after = uapi::decode(*info_, out);
      for (const auto& f : uapi::find_struct(info_->type)->fields) ctx.outputs[f.name] = after[f.name];
      // Of the variable parts, the step reports VFIO_IOMMU_GET_INFO's capabilities (by type name:
      // VFIO_DEVICE_GET_PCI_HOT_RESET_INFO shares the request number, VFIO_BASE + 12).
      if (std::string(info_->type) == "vfio_iommu_type1_info") ctx.outputs["caps"] = after["caps"];
    }
  }

 private:
  json fd_;
  const uapi::IoctlInfo* info_;
  json arg_;
  std::string as_;
};

}  // namespace

std::vector<StepType> vfio_step_types() {
  std::vector<StepType> out;
  {
    StepType t;
    t.op = "open";
    t.desc = "open(path, O_RDWR) of a device node (/dev/vfio/vfio, /dev/vfio/<group>)";
    t.fields = {Field::string("path").require().describe("The node to open"),
                Field::string("as").describe("Name for the new descriptor, for later steps")};
    t.outputs = errno_fields();
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<OpenStep>(s["path"].get<std::string>(), s.value("as", ""));
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "close";
    t.desc = "close(fd)";
    t.fields = {Field::any("fd").require().describe("A descriptor name or number")};
    t.outputs = errno_fields();
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<CloseStep>(s["fd"]);
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "mmap";
    t.desc = "mmap(NULL, size, PROT_READ|PROT_WRITE, ...): anonymous memory to map for DMA (MAP_PRIVATE|"
             "MAP_ANONYMOUS[|MAP_HUGETLB]), or with `fd` a device region (a vfio-pci BAR at its region offset)";
    t.fields = {Field::size("size").with_unit("bytes").require().describe("Length").at_least(1),
                Field::boolean("hugetlb").describe("Back it with 2 MiB pages").defaults(false),
                Field::string("as").describe("Name of the mapping (its address), e.g. for MAP_DMA vaddr or a load"),
                Field::any("fd").describe("Map this descriptor (a name an earlier step gave, or a number)"),
                Field::size("offset").with_unit("bytes")
                    .describe("File offset: a vfio region's offset from GET_REGION_INFO (index << 40)").defaults(0),
                Field::boolean("shared").describe("MAP_SHARED (false: MAP_PRIVATE) for a file mapping").defaults(true)};
    t.outputs = errno_fields();
    t.outputs.push_back(Field::integer("vaddr").describe("The mapping's address"));
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      return std::make_unique<MmapStep>(s["size"].get<uint64_t>(), s["hugetlb"].get<bool>(), s.value("as", ""),
                                        s.contains("fd") ? s["fd"] : json(), s["offset"].get<uint64_t>(),
                                        s["shared"].get<bool>());
    };
    out.push_back(std::move(t));
  }
  for (bool write : {false, true}) {
    StepType t;
    t.op = write ? "store" : "load";
    t.desc = write ? "A store by the process to its memory or a device mapping (mmap of a BAR): no system call"
                   : "A load by the process from its memory or a device mapping: no system call";
    t.fields = {Field::any("address").require().describe("User address: a name an earlier step gave (an mmap) or "
                                                         "a number"),
                Field::size("offset").with_unit("bytes").describe("Added to the address").defaults(0),
                Field::integer("size").with_unit("bytes").describe("1, 2, 4 or 8").defaults(4).at_least(1).at_most(8)};
    if (write) t.fields.push_back(Field::any("value").require().describe("The value stored"));
    t.outputs = {Field::string("signal").describe("\"none\", or the signal the access raised (SIGBUS, SIGSEGV)")};
    if (!write) t.outputs.push_back(Field::integer("value").describe("The value loaded"));
    t.prepare = [write](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      const unsigned size = s["size"].get<unsigned>();
      if (size != 1 && size != 2 && size != 4 && size != 8)
        issues.add(ptr + "/size", "expected 1, 2, 4 or 8, got " + std::to_string(size));
      return std::make_unique<UserAccessStep>(write, s["address"], s["offset"].get<uint64_t>(), size,
                                              write ? s["value"] : json());
    };
    out.push_back(std::move(t));
  }
  {
    StepType t;
    t.op = "ioctl";
    t.desc = "ioctl(fd, request, arg) with a <linux/vfio.h> request; struct arguments as JSON objects with the "
             "header's field names (argsz defaults to sizeof), flags as numbers or lists of flag names";
    t.fields = {Field::any("fd").require().describe("A descriptor name or number"),
                Field::any("request").require().describe("The ioctl: a <linux/vfio.h> name, or a number for a request "
                                                          "the header does not have (passed by value)"),
                Field::any("arg").describe("By-value id, descriptor name (SET_CONTAINER), device name "
                                           "(GET_DEVICE_FD), struct fields as an object, or null for a NULL pointer"),
                Field::string("as").describe("Name for a descriptor the call returns (GET_DEVICE_FD)")};
    t.outputs = errno_fields();
    for (const auto& n : uapi::ioctl_struct_field_names())
      t.outputs.push_back(Field::integer(n).describe("The struct's " + n + " after the call"));
    t.outputs.push_back(Field::any("caps").describe("VFIO_IOMMU_GET_INFO capabilities: iova_ranges, dma_avail, migration"));
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      const uapi::IoctlInfo* info = nullptr;
      if (s["request"].is_string()) {
        info = uapi::find_ioctl(s["request"].get<std::string>());
        if (!info) {
          std::string msg = "unknown ioctl \"" + s["request"].get<std::string>() + "\"";
          std::vector<std::string> names;
          for (const auto& i : uapi::ioctl_table()) names.push_back(i.name);
          const auto hint = config::did_you_mean(s["request"].get<std::string>(), names);
          if (!hint.empty()) msg += " (did you mean \"" + hint + "\"?)";
          issues.add(ptr + "/request", msg);
          return nullptr;
        }
      } else if (s["request"].is_number_unsigned() || s["request"].is_number_integer()) {
        static std::vector<std::unique_ptr<uapi::IoctlInfo>> raw;  // numbered requests, kept for the run
        raw.push_back(std::make_unique<uapi::IoctlInfo>(uapi::IoctlInfo{"raw", s["request"].get<unsigned>(), uapi::IoctlArg::Value, nullptr}));
        info = raw.back().get();
      } else {
        issues.add(ptr + "/request", "expected an ioctl name or number");
        return nullptr;
      }
      const json arg = s.contains("arg") ? s["arg"] : json();
      for (const auto& e : uapi::check(*info, arg)) issues.add(ptr + "/arg" + e.path, e.message);
      return std::make_unique<IoctlStep>(s["fd"], info, arg, s.value("as", ""));
    };
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vfiosim
