// The type1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c, v6.1.y): vfio_iommu per container,
// vfio_domain per IOMMU domain, the vfio_dma tree keyed by IOVA, the valid IOVA list (apertures
// minus reserved regions), MAP/UNMAP with every validation and errno of spec §3.5-3.6, pinning in
// physically contiguous chunks with RLIMIT_MEMLOCK accounting, v1 vs v2 unmap rules, UNMAP_ALL and
// VADDR, replay into a new domain, GET_INFO with its capability chain, CHECK_EXTENSION.
// VFIO_IOMMU_DIRTY_PAGES and UNMAP with GET_DIRTY_BITMAP (§3.9); the pin/unpin/dma_rw API for
// emulated-IOMMU devices with the unmap notifier (§3.10).
// Sources: vfio_iommu_type1.cpp (container, MAP/UNMAP, GET_INFO), _domain.cpp (attach, detach,
// replay), _dirty.cpp (dirty tracking), _pin.cpp (the emulated-IOMMU pin/unpin/dma_rw API).
// Not ported yet: fine-grained-superpage probing.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>

#include <linux/vfio.h>

#include "vfio/linux/lib/rbtree.h"
#include "vfio/linux/drivers/vfio/vfio.h"

namespace vfiosim::kernel {

namespace type1 {
inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kBatch = kPage / 8;  // page pointers per pin batch (vfio_batch)
}  // namespace type1

/// One MAP_DMA. The kernel's `struct rb_node node` member is the base class here (rb_entry() is a
/// downcast); dma_list orders the nodes by iova, a new node going left of any with an equal iova.
struct vfio_dma : rb_node {
  uint64_t iova = 0, vaddr = 0, size = 0;
  int prot = 0;
  bool iommu_mapped = false;
  bool lock_cap = false;
  bool vaddr_invalid = false;
  Task* task = nullptr;    // the mapping task
  std::shared_ptr<mm_struct> mm;  // [6.1.y] mmgrab(current->mm) at map time: charged, and pinned from
  uint64_t locked_vm = 0;  // pages this dma accounted
  struct vfio_pfn {
    uint64_t phys = 0;
    unsigned ref_count = 0;
  };
  std::map<uint64_t, vfio_pfn> pfn_list;  // pages pinned through the external pin_pages API
  std::vector<uint64_t> bitmap;           // dirty bits (one per minimum page) while tracking
};

/// An in-order walk of a dma tree: `for (vfio_dma* dma : dma_walk(iommu->dma_list))`. The next node
/// is read before the body runs, so the body may remove the current dma.
class dma_walk {
 public:
  explicit dma_walk(const rb_root& root) : first_(rb_first(&root)) {}
  struct iterator {
    rb_node* n;
    rb_node* next;
    vfio_dma* operator*() const { return rb_entry<vfio_dma>(n); }
    iterator& operator++() {
      n = next;
      next = n ? rb_next(n) : nullptr;
      return *this;
    }
    bool operator!=(const iterator& o) const { return n != o.n; }
  };
  iterator begin() const { return {first_, first_ ? rb_next(first_) : nullptr}; }
  iterator end() const { return {nullptr, nullptr}; }

 private:
  rb_node* first_;
};

/// A group in the container. IOMMU-backed groups start outside the pinned-page dirty scope (all
/// their mapped pages may be dirty) and enter it with their first vfio_pin_pages(); emulated
/// groups are in it from the start.
struct vfio_iommu_group {
  struct iommu_group* iommu_group = nullptr;
  bool pinned_page_dirty_scope = false;
};

struct vfio_domain {
  iommu_domain* domain = nullptr;
  std::list<vfio_iommu_group> group_list;
  bool enforce_cache_coherency = false;
};

struct vfio_iova {
  uint64_t start, end;  // inclusive
};

struct vfio_iommu {
  std::list<vfio_domain*> domain_list;
  std::list<vfio_iova> iova_list;  // empty: unrestricted
  mutex lock{"iommu->lock"};
  rb_root dma_list;  // vfio_dma by iova (vfio_link_dma)
  unsigned dma_avail = 0;
  unsigned vaddr_invalid_count = 0;
  uint64_t pgsize_bitmap = ~0xFFFULL;  // PAGE_MASK
  unsigned num_non_pinned_groups = 0;
  bool v2 = false;
  bool nesting = false;
  bool dirty_page_tracking = false;
  std::list<vfio_iommu_group> emulated_iommu_groups;
  std::list<vfio_device*> device_list;  // open devices with a dma_unmap op (unmap notification)
  mutex device_list_lock{"iommu->device_list_lock"};
};

/// Module parameters.
struct Type1Params {
  bool allow_unsafe_interrupts = false;
  bool disable_hugepages = false;
  unsigned dma_entry_limit = 65535;
  /// Mainline (>= v6.18) handling of ranges that end at 2^64: lookups compare inclusive ends and
  /// a MAP/UNMAP whose end overflows is -EOVERFLOW. Off (v6.1): iova + size wraps to 0 in the
  /// rb-tree helpers, so such a mapping is invisible to them (C-143).
  bool addressable_limit_fix = false;
};

class VfioIommuType1 {
 public:
  VfioIommuType1(IommuCore& core, CpuCosts& costs, const Type1Params& params);
  const vfio_iommu_driver_ops* ops() const { return &ops_; }
  Type1Params params;
  /// verify_bitmap_size()
  static bool bitmap_size_ok(uint64_t npages, uint64_t bitmap_size);
  size_t live() const { return live_; }

 private:
  void* open(unsigned long arg, long& err);
  void release(void* data);
  long ioctl(void* data, unsigned cmd, uint64_t arg);
  int attach_group(void* data, iommu_group* g, vfio_group_type type);
  void detach_group(void* data, iommu_group* g);

  long check_extension(vfio_iommu* iommu, unsigned long arg);
  long get_info(vfio_iommu* iommu, uint64_t arg);
  long map_dma(vfio_iommu* iommu, uint64_t arg);
  long unmap_dma(vfio_iommu* iommu, uint64_t arg);
  int dma_do_unmap(vfio_iommu* iommu, uint64_t iova, uint64_t& size, uint32_t flags, const ::vfio_bitmap* bitmap);
  int pin_map_dma(vfio_iommu* iommu, vfio_dma* dma, uint64_t size);
  int pin_map_runs(vfio_iommu* iommu, vfio_dma* dma, uint64_t size);
  long vaddr_get_pfns(Task* t, uint64_t vaddr, uint64_t npages, std::vector<uint64_t>& pfns, bool& rsvd);
  void remove_dma(vfio_iommu* iommu, vfio_dma* dma);
  void unmap_unpin_reaccount(vfio_iommu* iommu);
  uint64_t unmap_unpin(vfio_iommu* iommu, vfio_dma* dma);
  int iommu_map_all(vfio_iommu* iommu, uint64_t iova, uint64_t phys, uint64_t size, int prot);
  vfio_dma* find_dma(vfio_iommu* iommu, uint64_t start, uint64_t size);
  rb_node* find_dma_first_node(vfio_iommu* iommu, uint64_t start, uint64_t size);
  bool bisects_dma(vfio_iommu* iommu, uint64_t iova, uint64_t end);
  static void link_dma(vfio_iommu* iommu, vfio_dma* dma);
  /// vfio_lock_acct(): add `npage` (may be negative) to dma->mm's locked_vm; an `async` caller
  /// (not the mapping task) skips an mm whose address space is gone (mmget_not_zero, -ESRCH).
  static int lock_acct(vfio_dma* dma, int64_t npage, bool async);
  /// The mapping task's address space is still dma->mm (no exec since): pages can be pinned.
  static bool mm_alive(const vfio_dma* dma) { return dma->task && dma->mm && dma->mm->mm_users && dma->task->mm() == dma->mm.get(); }
  void update_pgsize_bitmap(vfio_iommu* iommu);
  uint64_t min_pgsize(vfio_iommu* iommu) const;
  bool iova_valid(vfio_iommu* iommu, uint64_t start, uint64_t end) const;
  int replay(vfio_iommu* iommu, vfio_domain* domain);
  int pin_pages(vfio_iommu* iommu, iommu_group* g, uint64_t iova, int npage, int prot, std::vector<uint64_t>& pages);
  static vfio_iommu_group* find_iommu_group(vfio_iommu* iommu, const struct iommu_group* g);
  void populate_bitmap_full(vfio_iommu* iommu);
  void unpin_pages(vfio_iommu* iommu, uint64_t iova, int npage);
  int dma_rw(vfio_iommu* iommu, uint64_t iova, void* buf, size_t len, bool write);
  void unpin_external(vfio_iommu* iommu, vfio_dma* dma, uint64_t iova);
  long dirty_pages(vfio_iommu* iommu, uint64_t arg);
  int bitmap_alloc(vfio_iommu* iommu, vfio_dma* dma);
  int bitmap_alloc_all(vfio_iommu* iommu);
  void mark_dirty(vfio_iommu* iommu, vfio_dma* dma, uint64_t iova);
  /// update_user_bitmap(): the dma's dirty pages into the user bitmap at `base`, then the dma's
  /// bitmap restarts with its still-pinned pages. -EFAULT on a bad user bitmap.
  int update_user_bitmap(vfio_iommu* iommu, vfio_dma* dma, uint64_t base, uint64_t ubitmap, uint64_t ubytes);

  IommuCore& core_;
  CpuCosts& costs_;
  vfio_iommu_driver_ops ops_;
  size_t live_ = 0;
};

}  // namespace vfiosim::kernel
