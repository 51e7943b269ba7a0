#include "vfio/linux/drivers/iommu/dma-iommu.h"

#include <algorithm>

#include "models/pci/msi_window.h"

namespace vfiosim::kernel {

namespace {
uint64_t roundup_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}
}  // namespace

IommuDma::IommuDma(IommuCore& core, CpuCosts& costs, PageAllocator& pages, const IommuOptions& options,
                   std::vector<std::pair<uint64_t, uint64_t>> reserved, stats::Group& s)
    : core_(core),
      costs_(costs),
      pages_(pages),
      opts_(options),
      reserved_(std::move(reserved)),
      maps_(s.counter("dma_maps", "calls", "DMA API mappings through the IOMMU")),
      unmaps_(s.counter("dma_unmaps", "calls", "DMA API unmappings through the IOMMU")),
      fq_flushes_full_(s.counter("fq_flush_full", "flushes", "Flush-queue flushes because the queue was full")),
      fq_flushes_timer_(s.counter("fq_flush_timeout", "flushes", "Flush-queue flushes by the timeout")),
      map_errors_(s.counter("dma_map_errors", "calls", "DMA API mappings that failed")) {
  sc_core::sc_spawn([this] { fq_timer(); }, sc_core::sc_gen_unique_name("fq_timer"));
}

IommuDma::~IommuDma() = default;

IommuDma::Cookie& IommuDma::cookie(iommu_domain* domain) {
  auto it = cookies_.find(domain);
  if (it != cookies_.end()) return it->second;
  Cookie& c = cookies_[domain];
  c.domain = domain;
  // iova_reserve_iommu_regions(): the MSI window and the host bridge windows are never IOVAs.
  c.iovas[pci::kMsiBase] = pci::kMsiSize;
  for (const auto& [lo, hi] : reserved_) c.iovas[lo] = hi - lo + 1;
  return c;
}

// alloc_iova(size_aligned = true): the highest free range below `limit` aligned to its size.
uint64_t IommuDma::alloc_iova(Cookie& c, uint64_t size, uint64_t limit) {
  const uint64_t align = roundup_pow2(size);
  uint64_t high = limit + 1;  // exclusive upper bound of the candidate
  for (auto it = c.iovas.upper_bound(limit);;) {
    // Free space is [prev_end, high) where prev_end is the end of the allocation below.
    const uint64_t prev_end = it == c.iovas.begin() ? 0x1000 : std::prev(it)->first + std::prev(it)->second;
    if (high >= size + prev_end) {
      const uint64_t start = (high - size) & ~(align - 1);
      if (start >= prev_end && start + size <= high) {
        c.iovas[start] = size;
        return start;
      }
    }
    if (it == c.iovas.begin()) return 0;
    --it;
    high = std::min(high, it->first);
    if (high <= 0x1000) return 0;
  }
}

void IommuDma::free_iova(Cookie& c, uint64_t iova) { c.iovas.erase(iova); }

// iommu_dma_map_page()
uint64_t IommuDma::map(device* dev, uint64_t phys, uint64_t size, int prot) {
  costs_.charge(Cost::DmaMapCall);
  iommu_domain* domain = core_.iommu_get_dma_domain(dev);
  if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY || !core_.driver()) return phys;
  ++maps_;
  Cookie& c = cookie(domain);
  const uint64_t offset = phys & 0xFFF;
  uint64_t len = (offset + size + 0xFFF) & ~0xFFFULL;
  if ((len >> 12) < 32) len = roundup_pow2(len >> 12) << 12;  // rcache-friendly sizes
  costs_.charge(Cost::IovaAlloc);
  const uint64_t limit = std::min<uint64_t>(domain->geometry.aperture_end, ~0ULL);
  uint64_t iova = alloc_iova(c, len, std::min<uint64_t>(limit, 0xFFFFFFFFULL));  // SAC first
  if (!iova) iova = alloc_iova(c, len, limit);
  if (!iova) {
    ++map_errors_;
    return DMA_MAPPING_ERROR;
  }
  const uint64_t map_len = (offset + size + 0xFFF) & ~0xFFFULL;
  if (core_.iommu_map(domain, iova, phys & ~0xFFFULL, map_len, prot | IOMMU_CACHE)) {
    free_iova(c, iova);
    ++map_errors_;
    return DMA_MAPPING_ERROR;
  }
  return iova + offset;
}

// __iommu_dma_unmap(): strict domains invalidate now; DMA_FQ domains queue the IOVA.
void IommuDma::unmap(device* dev, uint64_t dma_addr, uint64_t size) {
  costs_.charge(Cost::DmaUnmapCall);
  iommu_domain* domain = core_.iommu_get_dma_domain(dev);
  if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY || !core_.driver()) return;
  ++unmaps_;
  Cookie& c = cookie(domain);
  const uint64_t iova = dma_addr & ~0xFFFULL;
  const uint64_t len = ((dma_addr & 0xFFF) + size + 0xFFF) & ~0xFFFULL;
  iommu_iotlb_gather gather;
  gather.queued = domain->type == IOMMU_DOMAIN_DMA_FQ;
  core_.iommu_unmap_fast(domain, iova, len, gather);
  if (!gather.queued) {
    core_.iommu_iotlb_sync(domain, gather);
    costs_.charge(Cost::IovaFree);
    free_iova(c, iova);
    return;
  }
  queue_iova(c, Entry{iova, len, std::move(gather.freelist)});
}

// queue_iova(): a full queue is flushed first; the first entry arms the timer.
void IommuDma::queue_iova(Cookie& c, Entry e) {
  costs_.charge(Cost::FlushQueueAdd);
  if (c.fq.size() >= opts_.flush_batch) {
    ++fq_flushes_full_;
    fq_flush(c);
  }
  c.fq.push_back(std::move(e));
  if (!c.fq_timer_on) {
    c.fq_timer_on = true;
    timer_armed_.notify(sc_core::SC_ZERO_TIME);
  }
}

// fq_flush_iotlb() + fq_ring_free()
void IommuDma::fq_flush(Cookie& c) {
  if (c.fq.empty()) return;
  costs_.charge(Cost::FlushQueueFlush);
  core_.iommu_flush_iotlb_all(c.domain);
  for (auto& e : c.fq) {
    costs_.charge(Cost::IovaFree);
    free_iova(c, e.iova);
    costs_.charge(Cost::PgtableFree, e.freelist.size());
    for (uint64_t p : e.freelist) pages_.free_page(p);
  }
  c.fq.clear();
}

void IommuDma::put_dma_cookie(iommu_domain* domain) {
  auto it = cookies_.find(domain);
  if (it == cookies_.end()) return;
  fq_flush(it->second);
  cookies_.erase(it);
}

// fq_flush_timeout(): the timer runs in its own (softirq) context.
void IommuDma::fq_timer() {
  for (;;) {
    sc_core::wait(timer_armed_);
    sc_core::wait(ClockDomain::to_time(opts_.flush_timeout_ps));
    for (auto& [domain, c] : cookies_) {
      if (!c.fq_timer_on) continue;
      c.fq_timer_on = false;
      if (!c.fq.empty()) {
        ++fq_flushes_timer_;
        fq_flush(c);
      }
    }
  }
}

size_t IommuDma::iovas_allocated() const {
  size_t n = 0;
  for (const auto& [d, c] : cookies_) n += c.iovas.size() - 1 - reserved_.size();
  return n;
}

size_t IommuDma::queued() const {
  size_t n = 0;
  for (const auto& [d, c] : cookies_) n += c.fq.size();
  return n;
}

}  // namespace vfiosim::kernel
