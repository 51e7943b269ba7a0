// The DMA API over an IOMMU (drivers/iommu/dma-iommu.c with iova.c, v6.1): a kernel driver maps
// a buffer for its device and gets the IOVA to program; unmapping invalidates synchronously in a
// DMA domain (strict) or goes to the flush queue in a DMA_FQ domain (lazy), which flushes the
// domain's IOTLB when `flush_batch` unmaps are queued or `flush_timeout` after the first, and
// only then frees the IOVAs (so no IOVA is reused while a stale translation may exist).
// IOVAs come top-down from below 4 GiB first (a SAC address for PCI devices), sizes under 32
// pages rounded up to a power of two and every allocation aligned to its size, skipping the MSI
// window and the host bridge's MMIO windows. Devices in identity domains (or without an IOMMU)
// get their physical addresses.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <systemc>

#include "vfio/linux/drivers/iommu/intel/iommu.h"
#include "vfio/linux/drivers/iommu/iommu.h"

namespace vfiosim::kernel {

constexpr uint64_t DMA_MAPPING_ERROR = ~0ULL;

class IommuDma {
 public:
  /// `reserved`: physical ranges no IOVA may overlap (the host bridge windows), [start, end].
  IommuDma(IommuCore& core, CpuCosts& costs, PageAllocator& pages, const IommuOptions& options,
           std::vector<std::pair<uint64_t, uint64_t>> reserved, stats::Group& stats);
  ~IommuDma();

  /// iommu_dma_map_page() for a physically contiguous buffer: the DMA address, or
  /// DMA_MAPPING_ERROR.
  uint64_t map(device* dev, uint64_t phys, uint64_t size, int prot);
  /// iommu_dma_unmap_page()
  void unmap(device* dev, uint64_t dma_addr, uint64_t size);

  /// iommu_put_dma_cookie(): the domain is going (its group was released): what its flush queue
  /// holds is flushed and freed, then the cookie and its IOVA space.
  void put_dma_cookie(iommu_domain* domain);

  /// IOVAs allocated (including those waiting in a flush queue).
  size_t iovas_allocated() const;
  size_t queued() const;

 private:
  struct Entry {
    uint64_t iova;
    uint64_t size;
    std::vector<uint64_t> freelist;
  };
  struct Cookie {  // struct iommu_dma_cookie + its iova_domain and flush queue
    iommu_domain* domain = nullptr;
    std::map<uint64_t, uint64_t> iovas;  // start -> size (allocated, including reserved ranges)
    std::vector<Entry> fq;
    bool fq_timer_on = false;
  };
  Cookie& cookie(iommu_domain* domain);
  uint64_t alloc_iova(Cookie& c, uint64_t size, uint64_t limit);
  void free_iova(Cookie& c, uint64_t iova);
  void queue_iova(Cookie& c, Entry e);
  void fq_flush(Cookie& c);
  void fq_timer();

  IommuCore& core_;
  CpuCosts& costs_;
  PageAllocator& pages_;
  IommuOptions opts_;
  std::vector<std::pair<uint64_t, uint64_t>> reserved_;
  std::map<iommu_domain*, Cookie> cookies_;
  sc_core::sc_event timer_armed_;
  stats::Counter& maps_;
  stats::Counter& unmaps_;
  stats::Counter& fq_flushes_full_;
  stats::Counter& fq_flushes_timer_;
  stats::Counter& map_errors_;
};

}  // namespace vfiosim::kernel
