// Second-level page tables of the VT-d driver (iommu.c: __domain_mapping, pfn_to_dma_pte,
// hardware_largepage_caps, dma_pte_clear_level, intel_iommu_unmap). Tables live in simulated
// memory; the CPU stores entries there and reads its own tables back through its cache.
#include <cerrno>

#include "models/iommu/vtd_defs.h"
#include "vfio/linux/drivers/iommu/intel/iommu.h"

namespace vfiosim::kernel {

using namespace vtd;

namespace {
uint64_t level_pages(unsigned level) { return 1ULL << (9 * (level - 1)); }  // 4 KiB pages per entry
uint64_t level_mask_pfn(unsigned level) { return ~(level_pages(level) - 1); }
unsigned pfn_index(uint64_t pfn, unsigned level) { return static_cast<unsigned>((pfn >> (9 * (level - 1))) & 0x1FF); }
bool present(uint64_t pte) { return pte & (SL_R | SL_W); }
}  // namespace

// hardware_largepage_caps(): the largest level both pfns are aligned to, the range covers, and
// the domain supports.
unsigned IntelIommu::largepage_caps(const dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t pages) const {
  uint64_t pfnmerge = iov_pfn | phys_pfn;
  unsigned support = static_cast<unsigned>(d.iommu_superpage), level = 1;
  while (support && !(pfnmerge & 0x1FF)) {
    pages >>= 9;
    if (!pages) break;
    pfnmerge >>= 9;
    ++level;
    --support;
  }
  return level;
}

// pfn_to_dma_pte(): the address of the entry for `pfn` at *target_level (0: wherever the walk
// ends, at a superpage or a non-present entry; the level is returned there). Allocates missing
// intermediate tables when `alloc`; returns 0 when it would have to allocate and may not.
// domain_pfn_supported(): the pfn fits the domain's table depth (a domain whose width grew back
// with a wider unit keeps its narrower tables).
bool IntelIommu::domain_pfn_supported(const dmar_domain& d, uint64_t pfn) {
  const unsigned addr_width = aw_bits(d.agaw) - 12;
  return addr_width >= 64 || !(pfn >> addr_width);
}

uint64_t IntelIommu::pfn_to_dma_pte(dmar_domain& d, uint64_t pfn, unsigned* target_level, bool alloc) {
  if (!domain_pfn_supported(d, pfn)) return 0;
  unsigned level = d.levels();
  uint64_t table = d.pgd;
  for (;;) {
    const uint64_t pte_addr = table + pfn_index(pfn, level) * 8ULL;
    const uint64_t pte = load64(pte_addr);
    if (!*target_level && ((pte & SL_PS) || !present(pte) || level == 1)) {
      *target_level = level;
      return pte_addr;
    }
    if (level == *target_level) return pte_addr;
    if (!present(pte)) {
      if (!alloc) return 0;
      const uint64_t page = pages_.alloc_zeroed_page();
      if (!page) return 0;
      const uint64_t v = page | SL_R | SL_W;
      store(pte_addr, &v, 8);
      ++*pte_writes_;
      table = page;
    } else if (pte & SL_PS) {
      return 0;  // a superpage where a smaller mapping was asked for
    } else {
      table = pte & kAddrMask;
    }
    --level;
  }
}

// __domain_mapping()
int IntelIommu::domain_mapping(dmar_domain& d, uint64_t iov_pfn, uint64_t phys_pfn, uint64_t nr_pages, int prot) {
  if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return -EINVAL;
  if (!nr_pages || !domain_pfn_supported(d, iov_pfn + nr_pages - 1)) return -EINVAL;
  uint64_t attr = ((prot & IOMMU_READ) ? SL_R : 0) | ((prot & IOMMU_WRITE) ? SL_W : 0);
  if (d.set_pte_snp) attr |= SL_SNP;  // v6.1: only a force-snooping domain sets SNP
  while (nr_pages) {
    unsigned level = largepage_caps(d, iov_pfn, phys_pfn, nr_pages);
    const uint64_t first = pfn_to_dma_pte(d, iov_pfn, &level, true);
    if (!first) return -ENOMEM;
    // Entries up to the end of this table (or of the range) go in one run of stores.
    const uint64_t step = level_pages(level);
    uint64_t run[512];
    unsigned n = 0;
    const unsigned start_index = pfn_index(iov_pfn, level);
    while (nr_pages >= step && start_index + n < 512) {
      if (level > 1 && largepage_caps(d, iov_pfn, phys_pfn, nr_pages) < level) break;
      const uint64_t old = load64(first + n * 8ULL);
      if (present(old) && level > 1 && !(old & SL_PS)) {
        // A superpage replacing a table of smaller pages: the old table goes (dma_pte_free_pagetable).
        std::vector<uint64_t> freelist;
        list_pagetables(d, level - 1, old & kAddrMask, freelist);
        for (uint64_t p : freelist) pages_.free_page(p);
      }
      run[n++] = (phys_pfn << 12) | attr | (level > 1 ? SL_PS : 0);
      nr_pages -= step;
      iov_pfn += step;
      phys_pfn += step;
    }
    if (!n) return -EINVAL;
    costs_.charge(Cost::IommuMapPage, n);
    store(first, run, n * 8);
    *pte_writes_ += n;
  }
  return 0;
}

// intel_iommu_map_pages() -> intel_iommu_map()
int IntelIommu::map_pages(iommu_domain& domain, uint64_t iova, uint64_t paddr, size_t pgsize, size_t pgcount,
                          int prot, size_t* mapped) {
  auto& d = static_cast<dmar_domain&>(domain);
  const uint64_t size = pgsize * pgcount;
  if (d.identity) return -EINVAL;
  if (iova + size - 1 > d.geometry.aperture_end) return -EFAULT;
  const int ret = domain_mapping(d, iova >> 12, paddr >> 12, size >> 12, prot);
  if (!ret) {
    *mapped = size;
    d.max_addr = std::max(d.max_addr, iova + size);
  }
  return ret;
}

// dma_pte_list_pagetables(): collect a table and every table below it.
void IntelIommu::list_pagetables(dmar_domain& d, unsigned level, uint64_t table, std::vector<uint64_t>& freelist) {
  freelist.push_back(table);
  if (level == 1) return;
  for (unsigned i = 0; i < 512; ++i) {
    const uint64_t pte = load64(table + i * 8ULL);
    if (present(pte) && !(pte & SL_PS)) list_pagetables(d, level - 1, pte & kAddrMask, freelist);
  }
}

// dma_pte_clear_level(): clear [start, last] below `table`; tables entirely covered go to the
// freelist without being cleared themselves.
void IntelIommu::clear_level(dmar_domain& d, unsigned level, uint64_t table, uint64_t pfn, uint64_t start,
                             uint64_t last, std::vector<uint64_t>& freelist) {
  pfn = std::max(start, pfn);
  unsigned idx = pfn_index(pfn, level);
  unsigned first = 512, lastc = 0;
  do {
    const uint64_t pte_addr = table + idx * 8ULL;
    const uint64_t pte = load64(pte_addr);
    const uint64_t level_pfn = pfn & level_mask_pfn(level);
    if (present(pte)) {
      if (start <= level_pfn && last >= level_pfn + level_pages(level) - 1) {
        if (level > 1 && !(pte & SL_PS)) list_pagetables(d, level - 1, pte & kAddrMask, freelist);
        if (first == 512) first = idx;
        lastc = idx;
      } else if (level > 1 && !(pte & SL_PS)) {
        clear_level(d, level - 1, pte & kAddrMask, level_pfn, start, last, freelist);
      }
    }
    pfn = level_pfn + level_pages(level);
    ++idx;
  } while (idx < 512 && pfn <= last);
  if (first != 512) {
    // The cleared entries are stored as one run (non-present entries in between are zero anyway).
    static const uint64_t zeros[512] = {};
    const unsigned n = lastc - first + 1;
    costs_.charge(Cost::IommuUnmapPage, n);
    store(table + first * 8ULL, zeros, n * 8);
    *pte_writes_ += n;
  }
}

// intel_iommu_unmap_pages() -> intel_iommu_unmap(): a superpage is unmapped whole even when a part
// of it was asked for ("cope with horrid API").
size_t IntelIommu::unmap_pages(iommu_domain& domain, uint64_t iova, size_t pgsize, size_t pgcount,
                               iommu_iotlb_gather& gather) {
  auto& d = static_cast<dmar_domain&>(domain);
  if (d.identity || !d.pgd) return 0;
  uint64_t size = pgsize * pgcount;
  unsigned level = 0;
  if (!pfn_to_dma_pte(d, iova >> 12, &level, false)) return 0;
  if (size < (4096ULL << (9 * (level - 1)))) size = 4096ULL << (9 * (level - 1));
  const uint64_t start_pfn = iova >> 12;
  const uint64_t last_pfn = (iova + size - 1) >> 12;
  clear_level(d, d.levels(), d.pgd, 0, start_pfn, last_pfn, gather.freelist);
  if (d.max_addr == iova + size) d.max_addr = iova;
  // iommu_iotlb_gather_add_page()
  gather.start = std::min<uint64_t>(gather.start, iova);
  gather.end = std::max<uint64_t>(gather.end, iova + size - 1);
  gather.pgsize = pgsize;
  return size;
}

// domain_exit(): every table of a domain being freed.
void IntelIommu::free_pagetables(dmar_domain& d) {
  std::vector<uint64_t> freelist;
  list_pagetables(d, d.levels(), d.pgd, freelist);
  for (uint64_t p : freelist) pages_.free_page(p);
  d.pgd = 0;
}

}  // namespace vfiosim::kernel
