// The iommu core (drivers/iommu/iommu.c, v6.1): domains and their types, attaching groups,
// iommu_map()/iommu_unmap() split by the domain's page-size bitmap with iotlb gather and sync,
// capability queries, reserved regions, DMA ownership as VFIO claims it, group references and the
// membership notifier. An IOMMU driver implements `IommuDriver` (struct iommu_ops together with
// struct iommu_domain_ops); the core never touches hardware itself.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "vfio/linux/kernel/cpu_cost.h"
#include "vfio/linux/drivers/iommu/iommu_group.h"

namespace vfiosim::kernel {

// include/linux/iommu.h
constexpr int IOMMU_READ = 1 << 0;
constexpr int IOMMU_WRITE = 1 << 1;
constexpr int IOMMU_CACHE = 1 << 2;
constexpr int IOMMU_NOEXEC = 1 << 3;
constexpr int IOMMU_MMIO = 1 << 4;

constexpr unsigned __IOMMU_DOMAIN_PAGING = 1u << 0;
constexpr unsigned __IOMMU_DOMAIN_DMA_API = 1u << 1;
constexpr unsigned __IOMMU_DOMAIN_PT = 1u << 2;
constexpr unsigned __IOMMU_DOMAIN_DMA_FQ = 1u << 3;
constexpr unsigned IOMMU_DOMAIN_BLOCKED = 0;
constexpr unsigned IOMMU_DOMAIN_IDENTITY = __IOMMU_DOMAIN_PT;
constexpr unsigned IOMMU_DOMAIN_UNMANAGED = __IOMMU_DOMAIN_PAGING;
constexpr unsigned IOMMU_DOMAIN_DMA = __IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API;
constexpr unsigned IOMMU_DOMAIN_DMA_FQ = IOMMU_DOMAIN_DMA | __IOMMU_DOMAIN_DMA_FQ;

enum iommu_cap { IOMMU_CAP_CACHE_COHERENCY, IOMMU_CAP_INTR_REMAP, IOMMU_CAP_NOEXEC, IOMMU_CAP_PRE_BOOT_PROTECTION };

enum iommu_resv_type {
  IOMMU_RESV_DIRECT,
  IOMMU_RESV_DIRECT_RELAXABLE,
  IOMMU_RESV_RESERVED,
  IOMMU_RESV_MSI,
  IOMMU_RESV_SW_MSI
};

struct iommu_resv_region {
  uint64_t start = 0;
  uint64_t length = 0;
  int prot = 0;
  iommu_resv_type type = IOMMU_RESV_RESERVED;
};

struct iommu_domain_geometry {
  uint64_t aperture_start = 0;
  uint64_t aperture_end = 0;
  bool force_aperture = false;
};

/// Pages unmapped but not yet invalidated, and the page-table pages to free after the flush.
struct iommu_iotlb_gather {
  uint64_t start = ULLONG_MAX;
  uint64_t end = 0;  // inclusive
  size_t pgsize = 0;
  std::vector<uint64_t> freelist;  // physical addresses of page-table pages
  bool queued = false;             // a flush queue will invalidate (iommu_iotlb_gather_queued)
};

class IommuDriver;

struct iommu_domain {
  virtual ~iommu_domain() = default;
  unsigned type = 0;
  uint64_t pgsize_bitmap = 0;
  iommu_domain_geometry geometry;
  IommuDriver* driver = nullptr;
};

/// struct iommu_ops + struct iommu_domain_ops of one IOMMU driver.
class IommuDriver {
 public:
  virtual ~IommuDriver() = default;
  virtual bool capable(iommu_cap cap) const = 0;
  virtual std::unique_ptr<iommu_domain> domain_alloc(unsigned type) = 0;
  virtual void domain_free(iommu_domain& domain) = 0;
  virtual int attach_dev(iommu_domain& domain, device* dev) = 0;
  virtual void detach_dev(iommu_domain& domain, device* dev) = 0;
  virtual int map_pages(iommu_domain& domain, uint64_t iova, uint64_t paddr, size_t pgsize, size_t pgcount, int prot,
                        size_t* mapped) = 0;
  virtual size_t unmap_pages(iommu_domain& domain, uint64_t iova, size_t pgsize, size_t pgcount,
                             iommu_iotlb_gather& gather) = 0;
  virtual void flush_iotlb_all(iommu_domain& domain) = 0;
  virtual void iotlb_sync(iommu_domain& domain, iommu_iotlb_gather& gather) = 0;
  virtual uint64_t iova_to_phys(iommu_domain& domain, uint64_t iova) = 0;
  virtual void get_resv_regions(device* dev, std::vector<iommu_resv_region>& out) = 0;
  /// The default domain type the driver insists on for `dev` (0: no preference).
  virtual unsigned def_domain_type(device*) { return 0; }
  /// iommu_domain_ops.enforce_cache_coherency: make the domain block no-snoop DMA from now on;
  /// false when it cannot (the default stands for a driver without the op).
  virtual bool enforce_cache_coherency(iommu_domain&) { return false; }
  /// iommu_ops.release_device: the device is going away; the driver forgets it (its domain too).
  virtual void release_device(device*) {}
};

// Group notifier actions (IOMMU_GROUP_NOTIFY_*).
constexpr unsigned long IOMMU_GROUP_NOTIFY_ADD_DEVICE = 1;
constexpr unsigned long IOMMU_GROUP_NOTIFY_DEL_DEVICE = 2;

class IommuCore {
 public:
  IommuCore(IommuGroups& groups, CpuCosts& costs) : groups_(groups), costs_(costs) { groups_.core = this; }
  ~IommuCore();

  /// iommu_device_register() + bus_iommu_probe(): the driver takes the PCI bus; every group gets a
  /// default domain of `def_type` (IOMMU_DOMAIN_DMA, _DMA_FQ or _IDENTITY) and its devices attach.
  int register_driver(IommuDriver* driver, unsigned def_type);
  IommuDriver* driver() const { return driver_; }
  /// Stands another iommu_ops behind every device already probed (returns the previous one):
  /// what a platform whose IOMMU has a different driver looks like to its users. Tests use it
  /// for behaviour VT-d cannot show, such as a driver without IOMMU_CAP_CACHE_COHERENCY.
  IommuDriver* replace_ops(IommuDriver* ops) {
    IommuDriver* old = driver_;
    driver_ = ops;
    return old;
  }

  iommu_domain* iommu_domain_alloc();  // an UNMANAGED domain for the PCI bus, or nullptr
  /// Called before a domain is freed (the DMA API drops its cookie: iommu_put_dma_cookie).
  std::function<void(iommu_domain*)> on_domain_free;
  void iommu_domain_free(iommu_domain* domain);
  int iommu_attach_group(iommu_domain* domain, iommu_group* group);
  void iommu_detach_group(iommu_domain* domain, iommu_group* group);
  iommu_domain* iommu_get_domain_for_dev(const device* dev) const;
  iommu_domain* iommu_get_dma_domain(const device* dev) const;

  int iommu_map(iommu_domain* domain, uint64_t iova, uint64_t paddr, size_t size, int prot);
  size_t iommu_unmap(iommu_domain* domain, uint64_t iova, size_t size);
  size_t iommu_unmap_fast(iommu_domain* domain, uint64_t iova, size_t size, iommu_iotlb_gather& gather);
  void iommu_iotlb_sync(iommu_domain* domain, iommu_iotlb_gather& gather);
  void iommu_flush_iotlb_all(iommu_domain* domain);
  uint64_t iommu_iova_to_phys(iommu_domain* domain, uint64_t iova);

  bool iommu_capable(iommu_cap cap) const { return driver_ && driver_->capable(cap); }
  std::vector<iommu_resv_region> iommu_get_group_resv_regions(iommu_group* group);

  // DMA ownership (v6.1): VFIO claims a group; kernel drivers use the default domain.
  int iommu_group_claim_dma_owner(iommu_group* group, const void* owner);
  void iommu_group_release_dma_owner(iommu_group* group);
  bool iommu_group_dma_owner_claimed(iommu_group* group) const { return group->owner_cnt != 0; }
  int iommu_device_use_default_domain(device* dev);
  void iommu_device_unuse_default_domain(device* dev);

  iommu_group* iommu_group_get(device* dev);
  void iommu_group_put(iommu_group* group);

  using Notifier = std::function<void(unsigned long action, device* dev)>;
  /// iommu_group_register_notifier(); returns an id for unregistering.
  int iommu_group_register_notifier(iommu_group* group, Notifier fn);
  void iommu_group_unregister_notifier(iommu_group* group, int id);
  /// Adds / removes a device and tells the group's notifiers.
  void iommu_group_add_device(iommu_group* group, device* dev);
  void iommu_group_remove_device(device* dev);

  /// iommu_probe_device() for a device added after boot (an SR-IOV VF): its group from
  /// pci_device_group(), a default domain for a new group, and the device attached to the
  /// group's current domain. 0 or -errno (-ENODEV for a device of a bus no IOMMU serves: only
  /// PCI has iommu_ops here).
  int iommu_probe_device(device* dev);
  /// iommu_release_device(): the device leaves its group; a group left empty with no other
  /// reference is freed with its domains (iommu_group_release), else when the last put comes.
  void iommu_release_device(device* dev);

  size_t live_domains() const { return domains_.size(); }
  /// Objects that should be gone at the end of a run (domains VFIO allocated, claims, extra refs).
  std::vector<std::string> leaks() const;

 private:
  int __iommu_attach_group(iommu_domain* domain, iommu_group* group);
  int __iommu_group_set_domain(iommu_group* group, iommu_domain* new_domain);
  size_t __iommu_unmap(iommu_domain* domain, uint64_t iova, size_t size, iommu_iotlb_gather& gather);
  iommu_domain* alloc_domain(unsigned type);
  iommu_domain* group_blocking_domain(iommu_group* group);
  void release_group_if_unused(iommu_group* group);

  IommuGroups& groups_;
  CpuCosts& costs_;
  IommuDriver* driver_ = nullptr;
  unsigned def_type_ = 0;  // the default domain type register_driver() was given
  std::map<iommu_domain*, std::unique_ptr<iommu_domain>> domains_;
  std::map<iommu_group*, std::map<int, Notifier>> notifiers_;
  int next_notifier_ = 1;
};

/// iommu_pgsize(): the largest page size in `pgsize_bitmap` that fits `size` at the alignment of
/// iova|paddr, and how many of them to map before a larger size becomes possible.
size_t iommu_pgsize(uint64_t pgsize_bitmap, uint64_t iova, uint64_t paddr, size_t size, size_t* count);

}  // namespace vfiosim::kernel
