// type1 queries (drivers/vfio/vfio_iommu_type1.c, v6.1.y): CHECK_EXTENSION and GET_INFO with its capability chain (MIGRATION, DMA_AVAIL,
// IOVA_RANGE), spec §2.4 and §3.8.
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

namespace {
uint64_t lowest_bit(uint64_t v) { return v & (~v + 1); }
}  // namespace

long VfioIommuType1::check_extension(vfio_iommu* iommu, unsigned long arg) {
  switch (arg) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_TYPE1_NESTING_IOMMU:
    case VFIO_UNMAP_ALL:
      return 1;
    case VFIO_UPDATE_VADDR:  // [6.1.y] only with a container and no emulated groups
      return iommu && iommu->emulated_iommu_groups.empty() ? 1 : 0;
    case VFIO_DMA_CC_IOMMU: {
      if (!iommu) return 0;
      for (vfio_domain* d : iommu->domain_list)
        if (!d->enforce_cache_coherency) return 0;
      return 1;
    }
    default:
      return 0;
  }
}

// vfio_iommu_type1_get_info(): MIGRATION, DMA_AVAIL, IOVA_RANGE capabilities in that order.
long VfioIommuType1::get_info(vfio_iommu* iommu, uint64_t arg) {
  Task* t = current();
  vfio_iommu_type1_info info{};
  const uint32_t minsz = offsetof(vfio_iommu_type1_info, iova_pgsizes) + sizeof(info.iova_pgsizes);
  const uint32_t capsz = offsetof(vfio_iommu_type1_info, cap_offset) + sizeof(info.cap_offset);
  if (t->copy_from_user(&info, arg, minsz)) return -EFAULT;
  if (info.argsz < minsz) return -EINVAL;
  const uint32_t reply = info.argsz >= capsz ? capsz : minsz;
  mutex_guard lock(iommu->lock);
  info.flags = VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = iommu->pgsize_bitmap;
  std::vector<uint8_t> caps;
  auto add = [&](const void* cap, size_t len) {
    const size_t at = caps.size();
    if (at) {  // link the previous capability to this one (offsets relative to the chain start)
      size_t prev = 0;
      for (;;) {
        vfio_info_cap_header h;
        std::memcpy(&h, caps.data() + prev, sizeof h);
        if (!h.next) break;
        prev = h.next;
      }
      vfio_info_cap_header h;
      std::memcpy(&h, caps.data() + prev, sizeof h);
      h.next = static_cast<uint32_t>(at);
      std::memcpy(caps.data() + prev, &h, sizeof h);
    }
    caps.resize(at + len);
    std::memcpy(caps.data() + at, cap, len);
  };
  vfio_iommu_type1_info_cap_migration mig{};
  mig.header = {VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, 0};
  mig.flags = 0;
  mig.pgsize_bitmap = lowest_bit(iommu->pgsize_bitmap);
  mig.max_dirty_bitmap_size = 256ULL << 20;
  add(&mig, sizeof mig);
  vfio_iommu_type1_info_dma_avail avail{};
  avail.header = {VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 0};
  avail.avail = iommu->dma_avail;
  add(&avail, sizeof avail);
  if (!iommu->iova_list.empty()) {
    std::vector<uint8_t> range(sizeof(vfio_iommu_type1_info_cap_iova_range) +
                               iommu->iova_list.size() * sizeof(vfio_iova_range));
    vfio_iommu_type1_info_cap_iova_range head{};
    head.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
    head.nr_iovas = static_cast<uint32_t>(iommu->iova_list.size());
    std::memcpy(range.data(), &head, sizeof head);
    size_t i = 0;
    for (const auto& r : iommu->iova_list) {
      vfio_iova_range v{r.start, r.end};
      std::memcpy(range.data() + sizeof head + i++ * sizeof v, &v, sizeof v);
    }
    add(range.data(), range.size());
  }
  info.flags |= VFIO_IOMMU_INFO_CAPS;
  const uint32_t header = sizeof(vfio_iommu_type1_info);
  if (info.argsz < header + caps.size()) {
    info.argsz = static_cast<uint32_t>(header + caps.size());
  } else {
    for (size_t off = 0;;) {  // offsets become relative to the start of the reply
      vfio_info_cap_header h;
      std::memcpy(&h, caps.data() + off, sizeof h);
      const size_t next = h.next;
      if (next) h.next += header;
      std::memcpy(caps.data() + off, &h, sizeof h);
      if (!next) break;
      off = next;
    }
    if (t->copy_to_user(arg + header, caps.data(), caps.size())) return -EFAULT;
    info.cap_offset = header;
  }
  return t->copy_to_user(arg, &info, reply) ? -EFAULT : 0;
}

}  // namespace vfiosim::kernel
