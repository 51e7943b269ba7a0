// Ops "pread" and "pwrite": pread64()/pwrite64() on a descriptor (a VFIO device's regions: config
// space, BARs, ROM), of a little-endian value of 1 to 8 bytes ("value") or of a byte string
// ("data": hex digits, spaces allowed, or an array of byte values) of up to 1 MiB. The offset's
// top bits select the region (VFIO_PCI_INDEX_TO_OFFSET: index << 40).
#include "sim/app/steps/syscall.h"
#include "vfio/uapi/value.h"

namespace vfiosim {

namespace {

using config::Field;
using nlohmann::json;
using namespace userspace;

constexpr uint64_t kMaxBytes = 1 << 20;

// "data" as bytes (uapi::parse_bytes: hex digits or byte values); false with `error` when it is
// neither or its length is out of range.
bool parse_data(const json& v, std::vector<uint8_t>& out, std::string& error) {
  auto bytes = uapi::parse_bytes(v, "");
  if (!bytes) {
    error = bytes.error().message;
    return false;
  }
  out = std::move(*bytes);
  if (out.empty() || out.size() > kMaxBytes) {
    error = "expected 1 to " + std::to_string(kMaxBytes) + " bytes";
    return false;
  }
  return true;
}

class RwStep : public Step {
 public:
  RwStep(bool write, json fd, json region, uint64_t offset, uint64_t size, std::vector<uint8_t> data)
      : write_(write), fd_(std::move(fd)), region_(std::move(region)), offset_(offset), size_(size), data_(std::move(data)) {}
  void run(StepContext& ctx) override {
    auto& names = names_of(ctx);
    kernel::Task& t = task_of(ctx);
    const int fd = static_cast<int>(resolve(fd_, names));
    const uint64_t pos = (region_.is_null() ? 0 : static_cast<uint64_t>(resolve(region_, names)) << 40) + offset_;
    std::vector<uint8_t> buf = data_;
    buf.resize(std::max<uint64_t>(size_, 8), 0);
    const uint64_t ubuf = t.alloc_arg(buf.data(), buf.size());
    const auto spos = static_cast<int64_t>(pos);
    const long ret = write_ ? sys(ctx).pwrite64(t, fd, ubuf, size_, spos) : sys(ctx).pread64(t, fd, ubuf, size_, spos);
    ctx.outputs = errno_outputs(ret);
    if (!write_ && ret > 0) {
      std::vector<uint8_t> got(static_cast<size_t>(ret));
      t.copy_from_user(got.data(), ubuf, got.size());
      if (size_ <= 8) {
        uint64_t v = 0;
        for (size_t i = got.size(); i-- > 0;) v = v << 8 | got[i];
        ctx.outputs["value"] = v;
      } else {
        ctx.outputs["data"] = uapi::to_hex(got.data(), got.size());
      }
    }
  }

 private:
  bool write_;
  json fd_, region_;
  uint64_t offset_;
  uint64_t size_;
  std::vector<uint8_t> data_;
};

}  // namespace

std::vector<StepType> region_rw_step_types() {
  std::vector<StepType> out;
  for (bool write : {false, true}) {
    StepType t;
    t.op = write ? "pwrite" : "pread";
    t.desc = write ? "pwrite64(fd, buf, size, offset): write a device region (config space, a BAR): a value of up to "
                     "8 bytes or a byte string"
                   : "pread64(fd, buf, size, offset): read a device region (config space, a BAR)";
    t.fields = {Field::any("fd").require().describe("A descriptor name or number"),
                Field::any("region").describe("Region index (VFIO_PCI_CONFIG_REGION_INDEX, 0-5 for BARs): the offset's "
                                              "top bits (index << 40)"),
                Field::size("offset").with_unit("bytes").describe("Offset within the region").defaults(0),
                Field::integer("size").with_unit("bytes").describe(write ? "Bytes of value: 1 to 8 (with data: its length)"
                                                                         : "Bytes: up to 8 give value, more give data")
                    .defaults(4).at_least(1).at_most(static_cast<double>(kMaxBytes))};
    if (write) {
      t.fields.push_back(Field::size("value").describe("Value to write (little endian); or data"));
      t.fields.push_back(Field::any("data").describe("Bytes to write: hex digits (\"01 02 ff\") or an array of byte values"));
    }
    t.outputs = errno_fields();
    if (!write) {
      t.outputs.push_back(Field::integer("value").describe("The bytes read, little endian (size up to 8)"));
      t.outputs.push_back(Field::string("data").describe("The bytes read as hex digits (size above 8)"));
    }
    t.prepare = [write](const json& s, const std::string& ptr, const PlatformConfig& p, config::Issues& issues)
        -> std::unique_ptr<Step> {
      uint64_t size = s["size"].get<uint64_t>();
      std::vector<uint8_t> data;
      if (write) {
        if (s.contains("value") == s.contains("data")) {
          issues.add(ptr, "pwrite needs either value or data");
          return nullptr;
        }
        if (s.contains("data")) {
          std::string error;
          if (!parse_data(s["data"], data, error)) {
            issues.add(ptr + "/data", error);
            return nullptr;
          }
          if (size != 4 && size != data.size()) {
            issues.add(ptr + "/size", "expected the length of data (" + std::to_string(data.size()) + ")");
            return nullptr;
          }
          size = data.size();
        } else {
          if (size > 8) {
            issues.add(ptr + "/size", "a value has 1 to 8 bytes (use data for more)");
            return nullptr;
          }
          const uint64_t v = s["value"].get<uint64_t>();
          for (unsigned i = 0; i < 8; ++i) data.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
      }
      return std::make_unique<RwStep>(write, s["fd"], s.contains("region") ? s["region"] : json(),
                                      s["offset"].get<uint64_t>(), size, std::move(data));
    };
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vfiosim
