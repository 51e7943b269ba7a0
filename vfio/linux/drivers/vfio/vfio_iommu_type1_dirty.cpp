// type1 dirty-page tracking (drivers/vfio/vfio_iommu_type1.c, v6.1.y; §3.9): per-dma bitmaps, VFIO_IOMMU_DIRTY_PAGES START/STOP/GET_BITMAP
// and the user-bitmap copy shared with UNMAP_DMA(GET_DIRTY_BITMAP).
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include "vfio/linux/lib/fault-inject.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

using type1::kBatch;
using type1::kPage;

bool VfioIommuType1::bitmap_size_ok(uint64_t npages, uint64_t bitmap_size) {
  constexpr uint64_t kMax = 256ULL << 20;  // DIRTY_BITMAP_SIZE_MAX
  if (!npages || !bitmap_size || bitmap_size > kMax) return false;
  return bitmap_size >= (npages + 63) / 64 * 8;
}

// vfio_dma_bitmap_alloc() + vfio_dma_populate_bitmap(): -ENOMEM when the allocation fails.
int VfioIommuType1::bitmap_alloc(vfio_iommu* iommu, vfio_dma* dma) {
  if (should_fail(fault_site::kVfioDmaBitmapAlloc)) return -ENOMEM;
  const uint64_t pg = min_pgsize(iommu);
  dma->bitmap.assign((dma->size / pg + 63) / 64, 0);
  for (const auto& [iova, pfn] : dma->pfn_list) mark_dirty(iommu, dma, iova);  // pinned pages are dirty
  return 0;
}

// vfio_dma_bitmap_alloc_all(): a bitmap for every dma, or none. [6.1.y] The unwind frees the
// bitmaps of the dmas before the failing one (6.1.0 freed the failing dma's, again and again).
int VfioIommuType1::bitmap_alloc_all(vfio_iommu* iommu) {
  for (rb_node* n = rb_first(&iommu->dma_list); n; n = rb_next(n)) {
    if (int ret = bitmap_alloc(iommu, rb_entry<vfio_dma>(n))) {
      for (rb_node* p = rb_prev(n); p; p = rb_prev(p)) rb_entry<vfio_dma>(p)->bitmap = {};
      return ret;
    }
  }
  return 0;
}

void VfioIommuType1::mark_dirty(vfio_iommu* iommu, vfio_dma* dma, uint64_t iova) {
  if (dma->bitmap.empty()) return;
  const uint64_t bit = (iova - dma->iova) / min_pgsize(iommu);
  dma->bitmap[bit / 64] |= 1ULL << (bit % 64);
}

int VfioIommuType1::update_user_bitmap(vfio_iommu* iommu, vfio_dma* dma, uint64_t base, uint64_t ubitmap,
                                       uint64_t ubytes) {
  Task* t = current();
  const uint64_t pg = min_pgsize(iommu);
  const uint64_t npages = dma->size / pg;
  const uint64_t first = (dma->iova - base) / pg;  // bit offset in the user bitmap
  // With an IOMMU-backed group outside pinned-page scope every mapped page may be dirty.
  const bool all = iommu->num_non_pinned_groups && dma->iommu_mapped;
  for (uint64_t word = first / 64; word <= (first + npages - 1) / 64; ++word) {
    if ((word + 1) * 8 > ubytes) return -EFAULT;
    uint64_t v = 0;
    if (t->copy_from_user(&v, ubitmap + word * 8, 8)) return -EFAULT;  // OR-merge neighbours' bits
    for (unsigned b = 0; b < 64; ++b) {
      const uint64_t bit = word * 64 + b;
      if (bit < first || bit >= first + npages) continue;
      const uint64_t i = bit - first;
      if (all || (dma->bitmap[i / 64] >> (i % 64) & 1)) v |= 1ULL << b;
    }
    if (t->copy_to_user(ubitmap + word * 8, &v, 8)) return -EFAULT;
  }
  std::fill(dma->bitmap.begin(), dma->bitmap.end(), 0);
  for (const auto& [iova, pfn] : dma->pfn_list) mark_dirty(iommu, dma, iova);
  return 0;
}

// vfio_iommu_type1_dirty_pages()
long VfioIommuType1::dirty_pages(vfio_iommu* iommu, uint64_t arg) {
  if (!iommu->v2) return -EACCES;
  Task* t = current();
  vfio_iommu_type1_dirty_bitmap d{};
  if (t->copy_from_user(&d, arg, 8)) return -EFAULT;
  const uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
                        VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
  if (d.argsz < 8 || (d.flags & ~mask)) return -EINVAL;
  if (__builtin_popcount(d.flags) != 1) return -EINVAL;  // exactly one operation
  if (d.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
    mutex_guard lock(iommu->lock);
    if (iommu->dirty_page_tracking) return 0;
    if (int ret = bitmap_alloc_all(iommu)) return ret;
    iommu->dirty_page_tracking = true;
    return 0;
  }
  if (d.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
    mutex_guard lock(iommu->lock);
    if (iommu->dirty_page_tracking) {
      for (vfio_dma* dma : dma_walk(iommu->dma_list)) dma->bitmap = {};  // vfio_dma_bitmap_free_all()
      iommu->dirty_page_tracking = false;
    }
    return 0;
  }
  vfio_iommu_type1_dirty_bitmap_get range{};
  if (d.argsz - 8 < sizeof range) return -EINVAL;
  if (t->copy_from_user(&range, arg + 8, sizeof range)) return -EFAULT;
  if (range.iova + range.size - 1 < range.iova) return -EINVAL;
  const uint64_t pg_shift = range.bitmap.pgsize ? __builtin_ctzll(range.bitmap.pgsize) : 0;
  if (!bitmap_size_ok(range.size >> pg_shift, range.bitmap.size)) return -EINVAL;
  mutex_guard lock(iommu->lock);
  const uint64_t pg = min_pgsize(iommu);
  if (range.bitmap.pgsize != pg || (range.iova & (pg - 1)) || !range.size || (range.size & (pg - 1)))
    return -EINVAL;
  if (!iommu->dirty_page_tracking) return -EINVAL;
  const uint64_t end = range.iova + range.size - 1;
  if (bisects_dma(iommu, range.iova, end)) return -EINVAL;
  const uint64_t ubitmap = reinterpret_cast<uint64_t>(range.bitmap.data);
  for (vfio_dma* dma : dma_walk(iommu->dma_list)) {
    if (dma->iova < range.iova) continue;
    if (dma->iova > end) break;
    if (int ret = update_user_bitmap(iommu, dma, range.iova, ubitmap, range.bitmap.size)) return ret;
  }
  return 0;
}

}  // namespace vfiosim::kernel
