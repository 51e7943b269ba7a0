#include "vfio/uapi/layout.h"

#include <linux/vfio.h>
#include <linux/vfio_ccw.h>

#include <algorithm>

#include "vfio/uapi/ioctls.h"

namespace vfiosim::uapi {

using nlohmann::json;

#define F(s, f) FieldDesc{#f, offsetof(s, f), sizeof(s::f)}
#define B(s, f) FieldDesc{#f, offsetof(s, f), sizeof(s::f), FieldKind::Bytes}
#define S(s, f, sub) FieldDesc{#f, offsetof(s, f), sizeof(s::f), FieldKind::Struct, #sub}
#define L(s) #s, sizeof(s)
const std::vector<StructDesc>& struct_table() {
  static const std::vector<StructDesc> t = {
      // ioctl arguments (this order fixes the order of the ioctl step's outputs)
      {L(vfio_group_status), {F(vfio_group_status, argsz), F(vfio_group_status, flags)}},
      {L(vfio_device_info),
       {F(vfio_device_info, argsz), F(vfio_device_info, flags), F(vfio_device_info, num_regions),
        F(vfio_device_info, num_irqs), F(vfio_device_info, cap_offset)}},
      {L(vfio_region_info),
       {F(vfio_region_info, argsz), F(vfio_region_info, flags), F(vfio_region_info, index),
        F(vfio_region_info, cap_offset), F(vfio_region_info, size), F(vfio_region_info, offset)}},
      {L(vfio_irq_set),
       {F(vfio_irq_set, argsz), F(vfio_irq_set, flags), F(vfio_irq_set, index), F(vfio_irq_set, start),
        F(vfio_irq_set, count)}},
      {L(vfio_pci_hot_reset_info),
       {F(vfio_pci_hot_reset_info, argsz), F(vfio_pci_hot_reset_info, flags), F(vfio_pci_hot_reset_info, count)},
       {"devices", "vfio_pci_dependent_device", "count"}},
      {L(vfio_pci_hot_reset),
       {F(vfio_pci_hot_reset, argsz), F(vfio_pci_hot_reset, flags), F(vfio_pci_hot_reset, count)}},
      {L(vfio_irq_info),
       {F(vfio_irq_info, argsz), F(vfio_irq_info, flags), F(vfio_irq_info, index), F(vfio_irq_info, count)}},
      {L(vfio_device_feature), {F(vfio_device_feature, argsz), F(vfio_device_feature, flags)}},
      {L(vfio_iommu_type1_info),
       {F(vfio_iommu_type1_info, argsz), F(vfio_iommu_type1_info, flags), F(vfio_iommu_type1_info, iova_pgsizes),
        F(vfio_iommu_type1_info, cap_offset)}},
      {L(vfio_iommu_type1_dma_map),
       {F(vfio_iommu_type1_dma_map, argsz), F(vfio_iommu_type1_dma_map, flags), F(vfio_iommu_type1_dma_map, vaddr),
        F(vfio_iommu_type1_dma_map, iova), F(vfio_iommu_type1_dma_map, size)}},
      {L(vfio_iommu_type1_dma_unmap),
       {F(vfio_iommu_type1_dma_unmap, argsz), F(vfio_iommu_type1_dma_unmap, flags),
        F(vfio_iommu_type1_dma_unmap, iova), F(vfio_iommu_type1_dma_unmap, size)}},
      {L(vfio_iommu_type1_dirty_bitmap),
       {F(vfio_iommu_type1_dirty_bitmap, argsz), F(vfio_iommu_type1_dirty_bitmap, flags)}},
      // capabilities (the fields after their vfio_info_cap_header) and what their arrays hold
      {L(vfio_info_cap_header),
       {F(vfio_info_cap_header, id), F(vfio_info_cap_header, version), F(vfio_info_cap_header, next)}},
      {L(vfio_iommu_type1_info_cap_iova_range),
       {F(vfio_iommu_type1_info_cap_iova_range, nr_iovas)},
       {"iova_ranges", "vfio_iova_range", "nr_iovas"}},
      {L(vfio_iova_range), {F(vfio_iova_range, start), F(vfio_iova_range, end)}},
      {L(vfio_iommu_type1_info_cap_migration),
       {F(vfio_iommu_type1_info_cap_migration, flags), F(vfio_iommu_type1_info_cap_migration, pgsize_bitmap),
        F(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size)}},
      {L(vfio_iommu_type1_info_dma_avail), {F(vfio_iommu_type1_info_dma_avail, avail)}},
      {L(vfio_region_info_cap_sparse_mmap),
       {F(vfio_region_info_cap_sparse_mmap, nr_areas)},
       {"areas", "vfio_region_sparse_mmap_area", "nr_areas"}},
      {L(vfio_region_sparse_mmap_area), {F(vfio_region_sparse_mmap_area, offset), F(vfio_region_sparse_mmap_area, size)}},
      {L(vfio_region_info_cap_type), {F(vfio_region_info_cap_type, type), F(vfio_region_info_cap_type, subtype)}},
      {L(vfio_pci_dependent_device),
       {F(vfio_pci_dependent_device, group_id), F(vfio_pci_dependent_device, segment), F(vfio_pci_dependent_device, bus),
        F(vfio_pci_dependent_device, devfn)}},
      // data[] of UNMAP_DMA (GET_DIRTY_BITMAP) and DIRTY_PAGES (GET_BITMAP)
      {L(vfio_bitmap), {F(vfio_bitmap, pgsize), F(vfio_bitmap, size), F(vfio_bitmap, data)}},
      {L(vfio_iommu_type1_dirty_bitmap_get),
       {F(vfio_iommu_type1_dirty_bitmap_get, iova), F(vfio_iommu_type1_dirty_bitmap_get, size),
        S(vfio_iommu_type1_dirty_bitmap_get, bitmap, vfio_bitmap)}},
      // vfio-ccw's I/O regions (read and written with pread/pwrite, not ioctls)
      {L(ccw_io_region),
       {B(ccw_io_region, orb_area), B(ccw_io_region, scsw_area), B(ccw_io_region, irb_area), F(ccw_io_region, ret_code)}},
      {L(ccw_cmd_region), {F(ccw_cmd_region, command), F(ccw_cmd_region, ret_code)}},
      {L(ccw_schib_region), {B(ccw_schib_region, schib_area)}},
      {L(ccw_crw_region), {F(ccw_crw_region, crw), F(ccw_crw_region, pad)}},
  };
  return t;
}
#undef L
#undef S
#undef B
#undef F

const StructDesc* find_struct(const std::string& type) {
  for (const auto& s : struct_table())
    if (type == s.type) return &s;
  return nullptr;
}

std::vector<std::string> ioctl_struct_field_names() {
  std::vector<std::string> out;
  for (const auto& s : struct_table()) {
    const bool taken = std::any_of(ioctl_table().begin(), ioctl_table().end(),
                                   [&](const IoctlInfo& i) { return i.type && std::string(i.type) == s.type; });
    if (!taken) continue;
    for (const auto& f : s.fields)
      if (std::find(out.begin(), out.end(), f.name) == out.end()) out.push_back(f.name);
  }
  return out;
}

uint64_t load_le(const uint8_t* p, size_t size) {
  uint64_t v = 0;
  for (size_t i = size; i-- > 0;) v = v << 8 | p[i];
  return v;
}

void store_le(uint8_t* p, size_t size, uint64_t v) {
  for (size_t i = 0; i < size; ++i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

json read_fields(const StructDesc& sd, const uint8_t* p, size_t n) {
  json out = json::object();
  for (const auto& f : sd.fields) {
    if (f.offset + f.size > n) continue;
    switch (f.kind) {
      case FieldKind::Uint: out[f.name] = load_le(p + f.offset, f.size); break;
      case FieldKind::Bytes: out[f.name] = to_hex(p + f.offset, f.size); break;
      case FieldKind::Struct: out[f.name] = read_fields(*find_struct(f.sub), p + f.offset, f.size); break;
    }
  }
  return out;
}

std::optional<Error> write_fields(const StructDesc& sd, const json& obj, const Resolver& resolve,
                                  const std::string& path, uint8_t* p, const std::vector<std::string>& extra) {
  if (!obj.is_object()) return Error{path, std::string("expected an object with the fields of struct ") + sd.type};
  if (auto unknown = unknown_keys(sd, obj, path, extra); !unknown.empty()) return unknown.front();
  for (const auto& f : sd.fields) {
    if (!obj.contains(f.name)) continue;
    const std::string at = path + "/" + f.name;
    switch (f.kind) {
      case FieldKind::Uint: {
        auto v = sized_value(obj[f.name], resolve, at, f.size);
        if (!v) return v.error();
        store_le(p + f.offset, f.size, *v);
        break;
      }
      case FieldKind::Bytes: {
        auto b = parse_bytes(obj[f.name], at);
        if (!b) return b.error();
        if (b->size() > f.size) return Error{at, "expected at most " + std::to_string(f.size) + " bytes"};
        std::copy(b->begin(), b->end(), p + f.offset);
        break;
      }
      case FieldKind::Struct:
        if (auto e = write_fields(*find_struct(f.sub), obj[f.name], resolve, at, p + f.offset)) return e;
        break;
    }
  }
  return std::nullopt;
}

namespace {
const FieldDesc* field(const StructDesc& sd, const char* name) {
  for (const auto& f : sd.fields)
    if (std::string(f.name) == name) return &f;
  return nullptr;
}
}  // namespace

json read_tail(const StructDesc& sd, const uint8_t* p, size_t n) {
  json out = json::array();
  const FieldDesc* count = field(sd, sd.tail.count_field);
  if (count->offset + count->size > n) return out;
  const uint64_t want = load_le(p + count->offset, count->size);
  const StructDesc& e = *find_struct(sd.tail.element);
  // Each element must fit wholly; a hostile count stops at the end of the buffer.
  for (uint64_t i = 0, at = sd.size; i < want && at + e.size <= n; ++i, at += e.size)
    out.push_back(read_fields(e, p + at, e.size));
  return out;
}

Result<std::vector<uint8_t>> write_tail(const StructDesc& sd, const json& arr, const Resolver& resolve,
                                        const std::string& path) {
  const StructDesc& e = *find_struct(sd.tail.element);
  if (!arr.is_array()) return Error{path, std::string("expected an array of struct ") + e.type};
  std::vector<uint8_t> out(arr.size() * e.size, 0);
  for (size_t i = 0; i < arr.size(); ++i)
    if (auto err = write_fields(e, arr[i], resolve, path + "/" + std::to_string(i), out.data() + i * e.size)) return *err;
  return out;
}

std::vector<Error> unknown_keys(const StructDesc& sd, const json& obj, const std::string& path,
                                const std::vector<std::string>& extra) {
  std::vector<Error> out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool known = std::any_of(sd.fields.begin(), sd.fields.end(), [&](const FieldDesc& f) { return it.key() == f.name; }) ||
                       std::find(extra.begin(), extra.end(), it.key()) != extra.end();
    if (!known) out.push_back({path + "/" + it.key(), std::string("struct ") + sd.type + " has no field \"" + it.key() + "\""});
  }
  return out;
}

}  // namespace vfiosim::uapi
