#include "vfio/uapi/caps.h"

#include <linux/vfio.h>

#include <algorithm>
#include <set>

#include "vfio/uapi/layout.h"

namespace vfiosim::uapi {

using nlohmann::json;

namespace {

enum class Shape {
  Object,  // the struct's fields
  Array,   // the struct's tail array
  Scalar,  // the struct's only field
  Flag,    // header only: true
};

struct CapDesc {
  const char* owner;
  uint16_t id;
  const char* key;
  const char* type;
  Shape shape;
};

constexpr uint16_t kVersion = 1;  // every capability here is at version 1

const std::vector<CapDesc>& cap_table() {
  static const std::vector<CapDesc> t = {
      {"vfio_iommu_type1_info", VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, "iova_ranges", "vfio_iommu_type1_info_cap_iova_range", Shape::Array},
      {"vfio_iommu_type1_info", VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, "migration", "vfio_iommu_type1_info_cap_migration", Shape::Object},
      {"vfio_iommu_type1_info", VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, "dma_avail", "vfio_iommu_type1_info_dma_avail", Shape::Scalar},
      {"vfio_region_info", VFIO_REGION_INFO_CAP_SPARSE_MMAP, "sparse_mmap", "vfio_region_info_cap_sparse_mmap", Shape::Array},
      {"vfio_region_info", VFIO_REGION_INFO_CAP_TYPE, "type", "vfio_region_info_cap_type", Shape::Object},
      {"vfio_region_info", VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, "msix_mappable", "vfio_info_cap_header", Shape::Flag},
  };
  return t;
}

const CapDesc* find_cap(const std::string& owner, uint16_t id) {
  for (const auto& c : cap_table())
    if (owner == c.owner && id == c.id) return &c;
  return nullptr;
}

const CapDesc* find_cap(const std::string& owner, const std::string& key) {
  for (const auto& c : cap_table())
    if (owner == c.owner && key == c.key) return &c;
  return nullptr;
}

// One capability's JSON value from its bytes (`n` of them from its header on, at least sd.size).
json decode_one(const CapDesc& c, const StructDesc& sd, const uint8_t* p, size_t n) {
  switch (c.shape) {
    case Shape::Object: return read_fields(sd, p, sd.size);
    case Shape::Array: return read_tail(sd, p, n);
    case Shape::Scalar: return load_le(p + sd.fields[0].offset, sd.fields[0].size);
    case Shape::Flag: break;
  }
  return true;
}

// One capability's bytes after its header from its JSON value.
Result<std::vector<uint8_t>> encode_one(const CapDesc& c, const StructDesc& sd, const json& v, const Resolver& resolve,
                                        const std::string& path) {
  std::vector<uint8_t> out(sd.size, 0);
  switch (c.shape) {
    case Shape::Object:
      if (auto e = write_fields(sd, v, resolve, path, out.data())) return *e;
      break;
    case Shape::Array: {
      auto tail = write_tail(sd, v, resolve, path);
      if (!tail) return tail.error();
      store_le(out.data() + sd.fields[0].offset, sd.fields[0].size, v.size());  // the count
      out.insert(out.end(), tail->begin(), tail->end());
      break;
    }
    case Shape::Scalar: {
      auto n = sized_value(v, resolve, path, sd.fields[0].size);
      if (!n) return n.error();
      store_le(out.data() + sd.fields[0].offset, sd.fields[0].size, *n);
      break;
    }
    case Shape::Flag:
      if (v != json(true)) return Error{path, "expected true"};
      break;
  }
  return out;
}

}  // namespace

bool has_caps(const std::string& owner) {
  return owner == "vfio_iommu_type1_info" || owner == "vfio_region_info" || owner == "vfio_device_info";
}

json decode_caps(const std::string& owner, const uint8_t* p, size_t n, size_t header, uint32_t first,
                 std::vector<std::string>& malformed) {
  json out = json::object();
  std::set<uint32_t> seen;
  const size_t hsz = sizeof(vfio_info_cap_header);
  for (uint32_t off = first, count = 0; off; ++count) {
    const std::string at = "capability at " + std::to_string(off);
    if (count == kMaxCaps) {
      malformed.push_back("caps: more than " + std::to_string(kMaxCaps) + " capabilities");
      break;
    }
    if (off < header) {
      malformed.push_back("caps: " + at + " lies inside the struct's first " + std::to_string(header) + " bytes");
      break;
    }
    if (uint64_t{off} + hsz > n) {
      malformed.push_back("caps: " + at + " is past the end of the " + std::to_string(n) + " bytes");
      break;
    }
    if (!seen.insert(off).second) {
      malformed.push_back("caps: the chain loops back to offset " + std::to_string(off));
      break;
    }
    const auto id = static_cast<uint16_t>(load_le(p + off, 2));
    const auto version = load_le(p + off + 2, 2);
    const auto next = static_cast<uint32_t>(load_le(p + off + 4, 4));
    if (const CapDesc* c = find_cap(owner, id)) {
      const StructDesc& sd = *find_struct(c->type);
      if (uint64_t{off} + sd.size <= n)
        out[c->key] = decode_one(*c, sd, p + off, n - off);
      else
        malformed.push_back("caps: " + std::string(c->key) + " " + at + " runs past the end of the " + std::to_string(n) + " bytes");
    } else {
      out["unknown"].push_back({{"id", id}, {"version", version}});
    }
    off = next;
  }
  return out;
}

Result<uint32_t> encode_caps(const std::string& owner, const json& caps, const Resolver& resolve,
                             const std::string& path, std::vector<uint8_t>& buf) {
  if (!caps.is_object()) return Error{path, "expected an object of capabilities"};
  uint32_t first = 0;
  size_t prev = 0;
  // Appends a capability (its header then `body`) and links it to the one before.
  auto append = [&](uint64_t id, uint64_t version, const std::vector<uint8_t>& body) {
    buf.resize((buf.size() + 7) / 8 * 8, 0);
    const size_t at = buf.size();
    buf.insert(buf.end(), body.begin(), body.end());
    buf.resize(std::max(buf.size(), at + sizeof(vfio_info_cap_header)), 0);
    store_le(buf.data() + at, 2, id);
    store_le(buf.data() + at + 2, 2, version);
    if (first) store_le(buf.data() + prev + 4, 4, at);
    else first = static_cast<uint32_t>(at);
    prev = at;
  };
  for (auto it = caps.begin(); it != caps.end(); ++it) {
    const std::string at = path + "/" + it.key();
    if (it.key() == "unknown") {
      if (!it->is_array()) return Error{at, "expected an array of {id, version}"};
      for (size_t i = 0; i < it->size(); ++i) {
        const std::string ep = at + "/" + std::to_string(i);
        if (!(*it)[i].is_object()) return Error{ep, "expected an object {id, version}"};
        auto id = sized_value((*it)[i].value("id", json()), resolve, ep + "/id", 2);
        auto version = sized_value((*it)[i].value("version", json()), resolve, ep + "/version", 2);
        if (!id) return id.error();
        if (!version) return version.error();
        append(*id, *version, {});
      }
      continue;
    }
    const CapDesc* c = find_cap(owner, it.key());
    if (!c) return Error{at, "struct " + owner + " has no capability \"" + it.key() + "\""};
    auto body = encode_one(*c, *find_struct(c->type), *it, resolve, at);
    if (!body) return body.error();
    append(c->id, kVersion, *body);
  }
  return first;
}

}  // namespace vfiosim::uapi
