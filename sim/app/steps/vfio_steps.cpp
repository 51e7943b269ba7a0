// Userspace system calls on the VFIO device nodes, as a program like QEMU makes them: ops "open",
// "close", "ioctl" (every <linux/vfio.h> request, its struct written as JSON with the header's
// field and flag names), "mmap" (anonymous or hugetlb memory for MAP_DMA); "pread"/"pwrite" are in
// region_rw_steps.cpp. Each step runs in its scenario process's simulated task; a descriptor or buffer gets a name with "as"
// that later steps use. Results are ret and errno as userspace sees them, plus the struct's fields
// after the call.
#include <linux/vfio.h>

#include <cstddef>
#include <algorithm>
#include <cctype>
#include <cstring>

#include "sim/app/platform.h"
#include "sim/app/steps/step.h"
#include "sim/app/steps/syscall.h"
#include "vfio/uapi/ioctls.h"
#include "sim/base/units.h"
#include "vfio/linux/base/errno.h"
#include "vfio/linux/base/uuid.h"
#include "vfio/linux/kernel/eventfd.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

struct FieldDesc {
  const char* name;
  size_t offset;
  size_t size;
};
struct StructDesc {
  const char* type;
  size_t size;
  std::vector<FieldDesc> fields;
};

#define F(s, f) FieldDesc{#f, offsetof(s, f), sizeof(s::f)}
const std::vector<StructDesc>& structs() {
  static const std::vector<StructDesc> t = {
      {"vfio_group_status", sizeof(vfio_group_status), {F(vfio_group_status, argsz), F(vfio_group_status, flags)}},
      {"vfio_device_info", sizeof(vfio_device_info),
       {F(vfio_device_info, argsz), F(vfio_device_info, flags), F(vfio_device_info, num_regions),
        F(vfio_device_info, num_irqs), F(vfio_device_info, cap_offset)}},
      {"vfio_region_info", sizeof(vfio_region_info),
       {F(vfio_region_info, argsz), F(vfio_region_info, flags), F(vfio_region_info, index),
        F(vfio_region_info, cap_offset), F(vfio_region_info, size), F(vfio_region_info, offset)}},
      {"vfio_irq_set", sizeof(vfio_irq_set),
       {F(vfio_irq_set, argsz), F(vfio_irq_set, flags), F(vfio_irq_set, index), F(vfio_irq_set, start),
        F(vfio_irq_set, count)}},
      {"vfio_pci_hot_reset_info", sizeof(vfio_pci_hot_reset_info),
       {F(vfio_pci_hot_reset_info, argsz), F(vfio_pci_hot_reset_info, flags), F(vfio_pci_hot_reset_info, count)}},
      {"vfio_pci_hot_reset", sizeof(vfio_pci_hot_reset),
       {F(vfio_pci_hot_reset, argsz), F(vfio_pci_hot_reset, flags), F(vfio_pci_hot_reset, count)}},
      {"vfio_irq_info", sizeof(vfio_irq_info),
       {F(vfio_irq_info, argsz), F(vfio_irq_info, flags), F(vfio_irq_info, index), F(vfio_irq_info, count)}},
      {"vfio_device_feature", sizeof(vfio_device_feature), {F(vfio_device_feature, argsz), F(vfio_device_feature, flags)}},
      {"vfio_iommu_type1_info", sizeof(vfio_iommu_type1_info),
       {F(vfio_iommu_type1_info, argsz), F(vfio_iommu_type1_info, flags), F(vfio_iommu_type1_info, iova_pgsizes),
        F(vfio_iommu_type1_info, cap_offset)}},
      {"vfio_iommu_type1_dma_map", sizeof(vfio_iommu_type1_dma_map),
       {F(vfio_iommu_type1_dma_map, argsz), F(vfio_iommu_type1_dma_map, flags), F(vfio_iommu_type1_dma_map, vaddr),
        F(vfio_iommu_type1_dma_map, iova), F(vfio_iommu_type1_dma_map, size)}},
      {"vfio_iommu_type1_dma_unmap", sizeof(vfio_iommu_type1_dma_unmap),
       {F(vfio_iommu_type1_dma_unmap, argsz), F(vfio_iommu_type1_dma_unmap, flags),
        F(vfio_iommu_type1_dma_unmap, iova), F(vfio_iommu_type1_dma_unmap, size)}},
      {"vfio_iommu_type1_dirty_bitmap", sizeof(vfio_iommu_type1_dirty_bitmap),
       {F(vfio_iommu_type1_dirty_bitmap, argsz), F(vfio_iommu_type1_dirty_bitmap, flags)}},
  };
  return t;
}
#undef F

const StructDesc* find_struct(const std::string& type) {
  for (const auto& s : structs())
    if (type == s.type) return &s;
  return nullptr;
}

std::vector<std::string> struct_field_names() {
  std::vector<std::string> out;
  for (const auto& s : structs())
    for (const auto& f : s.fields)
      if (std::find(out.begin(), out.end(), f.name) == out.end()) out.push_back(f.name);
  return out;
}


class OpenStep : public Step {
 public:
  OpenStep(std::string path, std::string as) : path_(std::move(path)), as_(std::move(as)) {}
  void run(StepContext& ctx) override {
    const long ret = sys(ctx).open(task_of(ctx), path_);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0 && !as_.empty()) ctx.platform.pci()->names(ctx.process)[as_] = ret;
  }

 private:
  std::string path_, as_;
};

class CloseStep : public Step {
 public:
  explicit CloseStep(json fd) : fd_(std::move(fd)) {}
  void run(StepContext& ctx) override {
    auto& names = ctx.platform.pci()->names(ctx.process);
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
    auto& names = ctx.platform.pci()->names(ctx.process);
    // A file mapping (the driver's mmap decides), or anonymous [hugetlb] memory.
    const int fd = fd_.is_null() ? -1 : static_cast<int>(resolve(fd_, names));
    const int flags = fd_.is_null() ? kernel::SYS_MAP_PRIVATE | kernel::SYS_MAP_ANONYMOUS | (huge_ ? kernel::SYS_MAP_HUGETLB : 0)
                                    : shared_ ? kernel::SYS_MAP_SHARED : kernel::SYS_MAP_PRIVATE;
    const long ret = sys(ctx).mmap(task_of(ctx), 0, size_, kernel::SYS_PROT_READ | kernel::SYS_PROT_WRITE, flags, fd, offset_);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0) {
      ctx.outputs["vaddr"] = ret;
      if (!as_.empty()) ctx.platform.pci()->names(ctx.process)[as_] = ret;
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
    auto& names = ctx.platform.pci()->names(ctx.process);
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

// A UUID string as the 16 bytes of a uuid_t; empty if malformed (or longer than a UUID).
std::vector<uint8_t> uuid_bytes(const std::string& text) {
  std::array<uint8_t, 16> u{};
  if (text.size() != kernel::UUID_STRING_LEN || kernel::uuid_parse(text, u)) return {};
  return {u.begin(), u.end()};
}

class IoctlStep : public Step {
 public:
  IoctlStep(json fd, const uapi::IoctlInfo* info, json arg, std::string as)
      : fd_(std::move(fd)), info_(info), arg_(std::move(arg)), as_(std::move(as)) {}
  void run(StepContext& ctx) override {
    PciPlatform& pci = *ctx.platform.pci();
    auto& names = pci.names(ctx.process);
    kernel::Task& t = task_of(ctx);
    const int fd = static_cast<int>(resolve(fd_, names));
    uint64_t uarg = 0;
    const StructDesc* sd = info_->type ? find_struct(info_->type) : nullptr;
    std::vector<uint8_t> buf;
    switch (info_->arg) {
      case uapi::IoctlArg::None: break;
      case uapi::IoctlArg::Value: uarg = static_cast<uint64_t>(resolve(arg_, names)); break;
      case uapi::IoctlArg::FdPtr:
        if (!arg_.is_null()) {
          const int v = static_cast<int>(resolve(arg_, names));
          uarg = t.alloc_arg(&v, sizeof v);
        }
        break;
      case uapi::IoctlArg::String:
        if (!arg_.is_null()) {
          const std::string s = arg_.get<std::string>();
          uarg = t.alloc_arg(s.c_str(), s.size() + 1);
        }
        break;
      case uapi::IoctlArg::Struct: {
        if (arg_.is_null() && arg_given_null()) break;  // a NULL pointer
        // vfio_irq_set carries data[] after its header: eventfds (s32) or bools (u8).
        std::vector<uint8_t> payload;
        const bool feature = std::string(info_->type) == "vfio_device_feature";
        if (feature && arg_.is_object() && arg_.contains("data")) {
          // vfio_device_feature carries data[]: a UUID string (PCI_VF_TOKEN) or bytes.
          if (arg_["data"].is_string()) payload = uuid_bytes(arg_["data"].get<std::string>());
          else
            for (const auto& e : arg_["data"]) payload.push_back(static_cast<uint8_t>(resolve(e, names)));
        } else if (arg_.is_object() && arg_.contains("data")) {
          const bool bools = (resolve(arg_.value("flags", json(0)), names) & VFIO_IRQ_SET_DATA_BOOL) != 0;
          for (const auto& e : arg_["data"]) {
            const int64_t v = resolve(e, names);
            if (bools) {
              payload.push_back(static_cast<uint8_t>(v));
            } else {
              const int32_t fd = static_cast<int32_t>(v);
              const auto* p = reinterpret_cast<const uint8_t*>(&fd);
              payload.insert(payload.end(), p, p + 4);
            }
          }
        }
        uint64_t argsz = sd->size + payload.size();
        if (arg_.is_object() && arg_.contains("argsz")) argsz = static_cast<uint64_t>(resolve(arg_["argsz"], names));
        buf.assign(std::max<uint64_t>(sd->size + payload.size(), std::min<uint64_t>(argsz, 1 << 20)), 0);
        std::copy(payload.begin(), payload.end(), buf.begin() + static_cast<std::ptrdiff_t>(sd->size));
        for (const auto& f : sd->fields) {
          uint64_t v = 0;
          if (std::string(f.name) == "argsz") v = argsz;
          else if (arg_.is_object() && arg_.contains(f.name)) v = static_cast<uint64_t>(resolve(arg_[f.name], names));
          else continue;
          std::memcpy(buf.data() + f.offset, &v, f.size);
        }
        uarg = t.alloc_arg(buf.data(), buf.size());
        break;
      }
    }
    const long ret = sys(ctx).ioctl(t, fd, info_->cmd, uarg);
    ctx.outputs = errno_outputs(ret);
    if (ret >= 0 && !as_.empty()) names[as_] = ret;
    if (info_->arg == uapi::IoctlArg::Struct && uarg) {
      std::vector<uint8_t> out(buf.size());
      t.copy_from_user(out.data(), uarg, out.size());
      for (const auto& f : sd->fields) {
        uint64_t v = 0;
        std::memcpy(&v, out.data() + f.offset, f.size);
        ctx.outputs[f.name] = v;
      }
      // By name: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO shares the number (VFIO_BASE + 12).
      if (info_->type && std::string(info_->type) == "vfio_iommu_type1_info") ctx.outputs["caps"] = decode_caps(out);
    }
  }

 private:
  bool arg_given_null() const { return arg_.is_null(); }

  // The capability chain of VFIO_IOMMU_GET_INFO, when it was copied (cap_offset != 0).
  static json decode_caps(const std::vector<uint8_t>& b) {
    json caps = json::object();
    uint32_t off = 0;
    // A short argsz (C-92: 16 bytes) has no cap_offset; every read below stays inside `b`.
    if (b.size() < offsetof(vfio_iommu_type1_info, cap_offset) + sizeof off) return caps;
    std::memcpy(&off, b.data() + offsetof(vfio_iommu_type1_info, cap_offset), 4);
    auto fits = [&](uint64_t at, uint64_t len) { return at + len <= b.size(); };
    for (int guard = 0; off && fits(off, sizeof(vfio_info_cap_header)) && guard < 16; ++guard) {
      vfio_info_cap_header h;
      std::memcpy(&h, b.data() + off, sizeof h);
      if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && fits(off, sizeof(vfio_iommu_type1_info_cap_iova_range))) {
        vfio_iommu_type1_info_cap_iova_range r;
        std::memcpy(&r, b.data() + off, sizeof r);
        json ranges = json::array();
        for (uint32_t i = 0; i < r.nr_iovas && fits(off + sizeof r + uint64_t{i} * sizeof(vfio_iova_range), sizeof(vfio_iova_range)); ++i) {
          vfio_iova_range v;
          std::memcpy(&v, b.data() + off + sizeof r + i * sizeof v, sizeof v);
          ranges.push_back({{"start", v.start}, {"end", v.end}});
        }
        caps["iova_ranges"] = ranges;
      } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION && fits(off, sizeof(vfio_iommu_type1_info_cap_migration))) {
        vfio_iommu_type1_info_cap_migration m;
        std::memcpy(&m, b.data() + off, sizeof m);
        caps["migration"] = {{"flags", m.flags}, {"pgsize_bitmap", m.pgsize_bitmap},
                             {"max_dirty_bitmap_size", m.max_dirty_bitmap_size}};
      } else if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && fits(off, sizeof(vfio_iommu_type1_info_dma_avail))) {
        vfio_iommu_type1_info_dma_avail a;
        std::memcpy(&a, b.data() + off, sizeof a);
        caps["dma_avail"] = a.avail;
      }
      off = h.next;
    }
    return caps;
  }

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
      if (!needs_pci(p, ptr, issues)) return nullptr;
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
      if (!needs_pci(p, ptr, issues)) return nullptr;
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
      if (!needs_pci(p, ptr, issues)) return nullptr;
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
      if (!needs_pci(p, ptr, issues)) return nullptr;
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
    for (const auto& n : struct_field_names())
      t.outputs.push_back(Field::integer(n).describe("The struct's " + n + " after the call"));
    t.outputs.push_back(Field::any("caps").describe("VFIO_IOMMU_GET_INFO capabilities: iova_ranges, dma_avail, migration"));
    t.prepare = [](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      if (!needs_pci(p, ptr, issues)) return nullptr;
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
      if (info->arg == uapi::IoctlArg::Struct && !arg.is_null() && !arg.is_object())
        issues.add(ptr + "/arg", std::string("expected an object with the fields of struct ") + info->type);
      if (info->arg == uapi::IoctlArg::Struct && arg.is_object()) {
        const StructDesc* sd = find_struct(info->type);
        for (auto it = arg.begin(); it != arg.end(); ++it) {
          bool known = it.key() == "data" && (std::string(info->type) == "vfio_irq_set" ||
                                               std::string(info->type) == "vfio_pci_hot_reset" ||
                                               std::string(info->type) == "vfio_device_feature");
          if (it.key() == "data" && it->is_string() && uuid_bytes(it->get<std::string>()).size() != 16)
            issues.add(ptr + "/arg/data", "expected a UUID \"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\", got " + it->dump());
          for (const auto& f : sd->fields) known |= it.key() == f.name;
          if (!known) issues.add(ptr + "/arg/" + it.key(), std::string("struct ") + info->type + " has no field \"" + it.key() + "\"");
        }
      }
      if (info->arg == uapi::IoctlArg::String && !arg.is_null() && !arg.is_string())
        issues.add(ptr + "/arg", "expected the device name as a string");
      return std::make_unique<IoctlStep>(s["fd"], info, arg, s.value("as", ""));
    };
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vfiosim
