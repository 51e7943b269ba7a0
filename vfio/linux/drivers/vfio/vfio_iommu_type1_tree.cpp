// type1's vfio_dma tree (drivers/vfio/vfio_iommu_type1.c) (an rb-tree keyed by iova, vfio_link_dma / vfio_find_dma /
// vfio_find_dma_first_node with v6.1's 64-bit end arithmetic or mainline's inclusive ends) and the
// locked_vm accounting of a dma's mm (vfio_lock_acct).
#include "vfio/linux/drivers/vfio/vfio_iommu_type1.h"

#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace vfiosim::kernel {

// vfio_find_dma(): a dma overlapping [start, start + size), found by the tree descent. v6.1 computes
// both range ends in 64 bits, so a range ending at 2^64 has end 0: a dma there always sends the
// descent right, and a query ending there always sends it left (C-143). Mainline compares
// inclusive ends.
vfio_dma* VfioIommuType1::find_dma(vfio_iommu* iommu, uint64_t start, uint64_t size) {
  const bool fix = params.addressable_limit_fix;
  for (rb_node* n = iommu->dma_list.rb_node; n;) {
    vfio_dma* dma = rb_entry<vfio_dma>(n);
    const bool left = fix ? start + size - 1 < dma->iova : start + size <= dma->iova;
    const bool right = fix ? start > dma->iova + dma->size - 1 : start >= dma->iova + dma->size;
    if (left)
      n = n->left;
    else if (right)
      n = n->right;
    else
      return dma;
  }
  return nullptr;
}

// vfio_find_dma_first_node(): the lowest dma ending above `start`, unless it begins at or past
// start + size (size 0: no upper bound). In v6.1 a range ending at 2^64 finds nothing.
rb_node* VfioIommuType1::find_dma_first_node(vfio_iommu* iommu, uint64_t start, uint64_t size) {
  const bool fix = params.addressable_limit_fix;
  rb_node* res = nullptr;
  vfio_dma* dma_res = nullptr;
  for (rb_node* n = iommu->dma_list.rb_node; n;) {
    vfio_dma* dma = rb_entry<vfio_dma>(n);
    if (fix ? start <= dma->iova + dma->size - 1 : start < dma->iova + dma->size) {
      res = n;
      dma_res = dma;
      if (start >= dma->iova) break;
      n = n->left;
    } else {
      n = n->right;
    }
  }
  if (res && size && (fix ? dma_res->iova > start + size - 1 : dma_res->iova >= start + size)) res = nullptr;
  return res;
}

// Whether [iova, end] cuts a dma in two: one containing `iova` that starts below it, or one
// containing `end` that ends past it (the checks of vfio_dma_do_unmap and vfio_iova_dirty_bitmap;
// v6.1 asks about `end` with size 0 and compares iova + size, mainline compares inclusive ends).
bool VfioIommuType1::bisects_dma(vfio_iommu* iommu, uint64_t iova, uint64_t end) {
  if (vfio_dma* dma = find_dma(iommu, iova, 1); dma && dma->iova != iova) return true;
  if (params.addressable_limit_fix) {
    vfio_dma* dma = find_dma(iommu, end, 1);
    return dma && dma->iova + dma->size - 1 != end;
  }
  vfio_dma* dma = find_dma(iommu, end, 0);
  return dma && dma->iova + dma->size != end + 1;
}

// vfio_link_dma(): the new dma is linked while its size is still 0, so it goes left of any dma
// with the same iova.
void VfioIommuType1::link_dma(vfio_iommu* iommu, vfio_dma* dma) {
  rb_node** link = &iommu->dma_list.rb_node;
  rb_node* parent = nullptr;
  while (*link) {
    parent = *link;
    vfio_dma* d = rb_entry<vfio_dma>(parent);
    link = dma->iova + dma->size <= d->iova ? &parent->left : &parent->right;
  }
  rb_link_node(dma, parent, link);
  rb_insert_color(dma, &iommu->dma_list);
}

int VfioIommuType1::lock_acct(vfio_dma* dma, int64_t npage, bool async) {
  if (!npage || !dma->mm) return 0;
  if (async && !dma->mm->mm_users) return -ESRCH;  // mmget_not_zero() failed: the mm is gone
  mm_struct* mm = dma->mm.get();
  if (npage < 0)
    mm->locked_vm -= std::min<uint64_t>(mm->locked_vm, static_cast<uint64_t>(-npage));
  else
    mm->locked_vm += static_cast<uint64_t>(npage);
  return 0;
}

}  // namespace vfiosim::kernel
