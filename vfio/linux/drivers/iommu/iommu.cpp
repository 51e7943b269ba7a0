#include "vfio/linux/drivers/iommu/iommu.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "vfio/linux/drivers/pci/pci_acs.h"

namespace vfiosim::kernel {

namespace {
int fls64(uint64_t x) { return x ? 63 - __builtin_clzll(x) : -1; }
int ffs64(uint64_t x) { return x ? __builtin_ctzll(x) : -1; }
uint64_t genmask(int hi) { return hi >= 63 ? ~0ULL : (1ULL << (hi + 1)) - 1; }
}  // namespace

// iommu_pgsize()
size_t iommu_pgsize(uint64_t bitmap, uint64_t iova, uint64_t paddr, size_t size, size_t* count) {
  const uint64_t addr_merge = paddr | iova;
  uint64_t pgsizes = bitmap & genmask(fls64(size));  // page sizes no larger than size
  if (addr_merge) pgsizes &= genmask(ffs64(addr_merge));  // and matching the alignment
  if (!pgsizes) return 0;
  const int idx = fls64(pgsizes);
  const size_t pgsize = 1ULL << idx;
  if (!count) return pgsize;
  // How many before the next larger size could be used instead?
  const uint64_t larger = bitmap & ~genmask(idx);
  if (larger) {
    const uint64_t next = 1ULL << ffs64(larger);
    const uint64_t offset = next - (addr_merge & (next - 1));
    if (offset + next <= size) size = offset;
  }
  *count = size >> idx;
  return pgsize;
}

// Tear-down after the simulation: the domains' memory goes, no hardware is touched (the driver may
// be gone already).
IommuCore::~IommuCore() {
  if (groups_.core == this) groups_.core = nullptr;
}

iommu_domain* IommuCore::alloc_domain(unsigned type) {  // __iommu_domain_alloc
  if (!driver_) return nullptr;
  std::unique_ptr<iommu_domain> d = driver_->domain_alloc(type);
  if (!d) return nullptr;
  d->type = type;
  d->driver = driver_;
  iommu_domain* raw = d.get();
  domains_[raw] = std::move(d);
  return raw;
}

// iommu_device_register() followed by bus_iommu_probe(): groups exist already (pci_device_group);
// each gets its default domain and its devices are attached to it.
int IommuCore::register_driver(IommuDriver* driver, unsigned def_type) {
  driver_ = driver;
  def_type_ = def_type;
  for (const auto& g : groups_.groups()) {
    unsigned type = def_type;
    for (device* dev : g->devices)
      if (unsigned t = driver_->def_domain_type(dev)) type = t;
    g->default_domain = alloc_domain(type);
    if (!g->default_domain && type != IOMMU_DOMAIN_DMA) g->default_domain = alloc_domain(IOMMU_DOMAIN_DMA);
    if (!g->default_domain) return -ENOMEM;
    if (int ret = __iommu_attach_group(g->default_domain, g.get())) return ret;
  }
  return 0;
}

iommu_domain* IommuCore::iommu_domain_alloc() { return alloc_domain(IOMMU_DOMAIN_UNMANAGED); }

void IommuCore::iommu_domain_free(iommu_domain* domain) {
  if (!domain) return;
  auto it = domains_.find(domain);
  if (it == domains_.end()) return;
  if (on_domain_free) on_domain_free(domain);
  driver_->domain_free(*domain);
  domains_.erase(it);
}

int IommuCore::__iommu_attach_group(iommu_domain* domain, iommu_group* group) {
  // A group attached to something other than its default (or blocking) domain is busy.
  if (group->domain && group->domain != group->default_domain && group->domain != group->blocking_domain)
    return -EBUSY;
  for (device* dev : group->devices)
    if (int ret = driver_->attach_dev(*domain, dev)) return ret;
  group->domain = domain;
  return 0;
}

int IommuCore::iommu_attach_group(iommu_domain* domain, iommu_group* group) {
  if (!domain || !group || !driver_) return -ENODEV;
  return __iommu_attach_group(domain, group);
}

iommu_domain* IommuCore::group_blocking_domain(iommu_group* group) {
  if (!group->blocking_domain) {
    // __iommu_group_alloc_blocking_domain(): the driver's BLOCKED domain, else an empty UNMANAGED one.
    group->blocking_domain = alloc_domain(IOMMU_DOMAIN_BLOCKED);
    if (!group->blocking_domain) group->blocking_domain = alloc_domain(IOMMU_DOMAIN_UNMANAGED);
  }
  return group->blocking_domain;
}

int IommuCore::__iommu_group_set_domain(iommu_group* group, iommu_domain* new_domain) {
  if (group->domain == new_domain) return 0;
  if (group->domain)
    for (device* dev : group->devices) driver_->detach_dev(*group->domain, dev);
  group->domain = nullptr;
  if (!new_domain) return 0;
  for (device* dev : group->devices)
    if (int ret = driver_->attach_dev(*new_domain, dev)) return ret;
  group->domain = new_domain;
  return 0;
}

void IommuCore::iommu_detach_group(iommu_domain* domain, iommu_group* group) {
  if (!group || group->domain != domain) return;  // WARN_ON in the kernel
  // An owned group goes to its blocking domain, otherwise back to its default domain.
  __iommu_group_set_domain(group, group->owner ? group_blocking_domain(group) : group->default_domain);
}

// iommu_get_domain_for_dev()
iommu_domain* IommuCore::iommu_get_domain_for_dev(const device* dev) const {
  return dev->iommu_group ? dev->iommu_group->domain : nullptr;
}

// iommu_get_dma_domain()
iommu_domain* IommuCore::iommu_get_dma_domain(const device* dev) const {
  return dev->iommu_group ? dev->iommu_group->default_domain : nullptr;
}

// iommu_map() -> __iommu_map()
int IommuCore::iommu_map(iommu_domain* domain, uint64_t iova, uint64_t paddr, size_t size, int prot) {
  if (!domain || !(domain->type & __IOMMU_DOMAIN_PAGING)) return -EINVAL;
  if (!domain->pgsize_bitmap) return -ENODEV;
  costs_.charge(Cost::IommuMapCall);
  const uint64_t min_pagesz = 1ULL << ffs64(domain->pgsize_bitmap);
  if ((iova | paddr | size) & (min_pagesz - 1)) return -EINVAL;
  const uint64_t orig_iova = iova;
  const size_t orig_size = size;
  int ret = 0;
  while (size) {
    size_t count = 0;
    const size_t pgsize = iommu_pgsize(domain->pgsize_bitmap, iova, paddr, size, &count);
    size_t mapped = 0;
    ret = domain->driver->map_pages(*domain, iova, paddr, pgsize, count, prot, &mapped);
    size -= mapped;
    if (ret) break;
    iova += mapped;
    paddr += mapped;
  }
  if (ret) iommu_unmap(domain, orig_iova, orig_size - size);  // unroll what was mapped
  return ret;
}

size_t IommuCore::__iommu_unmap(iommu_domain* domain, uint64_t iova, size_t size, iommu_iotlb_gather& gather) {
  if (!domain || !(domain->type & __IOMMU_DOMAIN_PAGING) || !domain->pgsize_bitmap) return 0;
  const uint64_t min_pagesz = 1ULL << ffs64(domain->pgsize_bitmap);
  if ((iova | size) & (min_pagesz - 1)) return 0;  // "unaligned: iova ... size ... min_pagesz"
  costs_.charge(Cost::IommuUnmapCall);
  size_t unmapped = 0;
  while (unmapped < size) {
    size_t count = 0;
    const size_t pgsize = iommu_pgsize(domain->pgsize_bitmap, iova, iova, size - unmapped, &count);
    const size_t done = domain->driver->unmap_pages(*domain, iova, pgsize, count, gather);
    if (!done) break;
    iova += done;
    unmapped += done;
  }
  return unmapped;
}

size_t IommuCore::iommu_unmap(iommu_domain* domain, uint64_t iova, size_t size) {
  iommu_iotlb_gather gather;
  const size_t ret = __iommu_unmap(domain, iova, size, gather);
  iommu_iotlb_sync(domain, gather);
  return ret;
}

size_t IommuCore::iommu_unmap_fast(iommu_domain* domain, uint64_t iova, size_t size, iommu_iotlb_gather& gather) {
  return __iommu_unmap(domain, iova, size, gather);
}

void IommuCore::iommu_iotlb_sync(iommu_domain* domain, iommu_iotlb_gather& gather) {
  if (!domain || gather.queued || gather.end < gather.start) return;
  domain->driver->iotlb_sync(*domain, gather);
  gather = iommu_iotlb_gather{};
}

void IommuCore::iommu_flush_iotlb_all(iommu_domain* domain) {
  if (domain) domain->driver->flush_iotlb_all(*domain);
}

uint64_t IommuCore::iommu_iova_to_phys(iommu_domain* domain, uint64_t iova) {
  if (!domain) return 0;
  if (domain->type == IOMMU_DOMAIN_IDENTITY) return iova;
  if (domain->type == IOMMU_DOMAIN_BLOCKED) return 0;
  return domain->driver->iova_to_phys(*domain, iova);
}

// iommu_get_group_resv_regions(): every member's regions, overlapping ones of a type merged.
std::vector<iommu_resv_region> IommuCore::iommu_get_group_resv_regions(iommu_group* group) {
  std::vector<iommu_resv_region> all;
  if (!driver_ || !group) return all;
  for (device* dev : group->devices) driver_->get_resv_regions(dev, all);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.type != b.type ? a.type < b.type : a.start < b.start;
  });
  std::vector<iommu_resv_region> out;
  for (const auto& r : all) {
    if (!out.empty() && out.back().type == r.type && r.start <= out.back().start + out.back().length) {
      const uint64_t end = std::max(out.back().start + out.back().length, r.start + r.length);
      out.back().length = end - out.back().start;
      continue;
    }
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  return out;
}

// iommu_group_claim_dma_owner(): -EPERM if kernel drivers use the default domain, -EBUSY if
// another owner holds it; the first claim moves the group to its blocking domain.
int IommuCore::iommu_group_claim_dma_owner(iommu_group* group, const void* owner) {
  if (!group || !owner) return -EINVAL;
  if (group->owner_cnt) {
    if (group->owner != owner) return -EPERM;
    ++group->owner_cnt;
    return 0;
  }
  if (group->domain && group->domain != group->default_domain) return -EBUSY;
  if (driver_) {
    if (int ret = __iommu_group_set_domain(group, group_blocking_domain(group))) return ret;
  }
  group->owner = owner;
  group->owner_cnt = 1;
  return 0;
}

void IommuCore::iommu_group_release_dma_owner(iommu_group* group) {
  if (!group || !group->owner_cnt) return;  // WARN_ON
  if (--group->owner_cnt) return;
  group->owner = nullptr;
  if (driver_) __iommu_group_set_domain(group, group->default_domain);
}

// iommu_device_use_default_domain(): a kernel driver binding; -EBUSY while a user owns the group.
int IommuCore::iommu_device_use_default_domain(device* dev) {
  iommu_group* group = dev->iommu_group;
  if (!group) return 0;
  if (group->owner_cnt) {
    if (group->domain != group->default_domain || group->owner) return -EBUSY;
  }
  ++group->owner_cnt;
  return 0;
}

// iommu_device_unuse_default_domain()
void IommuCore::iommu_device_unuse_default_domain(device* dev) {
  iommu_group* group = dev->iommu_group;
  if (!group) return;
  if (group->owner_cnt && !group->owner) --group->owner_cnt;
}

// iommu_group_get()
iommu_group* IommuCore::iommu_group_get(device* dev) {
  iommu_group* g = dev->iommu_group;
  if (g) ++g->refcount;
  return g;
}

void IommuCore::iommu_group_put(iommu_group* group) {
  if (!group || group->refcount <= 1) return;  // the last reference is the group's own
  if (--group->refcount == 1) release_group_if_unused(group);
}

// iommu_probe_device() -> __iommu_probe_device() -> iommu_group_get_for_dev()
int IommuCore::iommu_probe_device(device* dev) {
  if (dev->iommu_group) return 0;
  if (!dev_is_pci(dev)) return -ENODEV;  // no iommu_ops for the device's bus
  iommu_group* group = groups_.device_group(dev);
  const bool fresh = !group->default_domain && group->devices.empty();
  iommu_group_add_device(group, dev);  // attaches to the group's domain when it has one
  if (!driver_ || !fresh) return 0;
  unsigned type = def_type_;  // iommu_alloc_default_domain()
  if (unsigned t = driver_->def_domain_type(dev)) type = t;
  group->default_domain = alloc_domain(type);
  if (!group->default_domain && type != IOMMU_DOMAIN_DMA) group->default_domain = alloc_domain(IOMMU_DOMAIN_DMA);
  if (!group->default_domain) return -ENOMEM;
  return __iommu_attach_group(group->default_domain, group);
}

// iommu_release_device()
void IommuCore::iommu_release_device(device* dev) {
  iommu_group* group = dev->iommu_group;
  if (!group) return;
  if (driver_) driver_->release_device(dev);  // ops->release_device() before the group lets go
  iommu_group_remove_device(dev);
  release_group_if_unused(group);
}

// iommu_group_release(): an empty group nobody references goes, with the domains the core owns.
void IommuCore::release_group_if_unused(iommu_group* group) {
  if (!group->devices.empty() || group->refcount > 1) return;
  notifiers_.erase(group);
  iommu_domain* def = group->default_domain;
  iommu_domain* blocking = group->blocking_domain;
  group->default_domain = group->blocking_domain = group->domain = nullptr;
  iommu_domain_free(def);
  if (blocking != def) iommu_domain_free(blocking);
  groups_.iommu_group_release(group);
}

int IommuCore::iommu_group_register_notifier(iommu_group* group, Notifier fn) {
  const int id = next_notifier_++;
  notifiers_[group][id] = std::move(fn);
  return id;
}

void IommuCore::iommu_group_unregister_notifier(iommu_group* group, int id) {
  auto it = notifiers_.find(group);
  if (it == notifiers_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) notifiers_.erase(it);
}

// iommu_group_add_device(): the sysfs links, then on the group's list.
void IommuCore::iommu_group_add_device(iommu_group* group, device* dev) {
  groups_.iommu_group_sysfs_add_device(group, dev);
  group->devices.push_back(dev);
  dev->iommu_group = group;
  if (group->domain && driver_) driver_->attach_dev(*group->domain, dev);
  auto it = notifiers_.find(group);
  if (it != notifiers_.end())
    for (auto& [id, fn] : std::map<int, Notifier>(it->second)) fn(IOMMU_GROUP_NOTIFY_ADD_DEVICE, dev);
}

// iommu_group_remove_device()
void IommuCore::iommu_group_remove_device(device* dev) {
  iommu_group* group = dev->iommu_group;
  if (!group) return;
  auto it = notifiers_.find(group);
  if (it != notifiers_.end())
    for (auto& [id, fn] : std::map<int, Notifier>(it->second)) fn(IOMMU_GROUP_NOTIFY_DEL_DEVICE, dev);
  if (group->domain && driver_) driver_->detach_dev(*group->domain, dev);
  group->devices.erase(std::remove(group->devices.begin(), group->devices.end(), dev), group->devices.end());
  groups_.iommu_group_sysfs_remove_device(group, dev);
  dev->iommu_group = nullptr;
}

std::vector<std::string> IommuCore::leaks() const {
  std::vector<std::string> out;
  size_t core_owned = 0;
  for (const auto& g : groups_.groups()) {
    core_owned += (g->default_domain != nullptr) + (g->blocking_domain != nullptr);
    if (g->owner) out.push_back("iommu_group " + std::to_string(g->id) + " still claimed for DMA ownership");
    if (g->refcount > 1)
      out.push_back("iommu_group " + std::to_string(g->id) + " holds " + std::to_string(g->refcount - 1) +
                    " extra reference(s)");
  }
  if (domains_.size() > core_owned)
    out.push_back(std::to_string(domains_.size() - core_owned) + " iommu_domain(s) not freed");
  return out;
}

}  // namespace vfiosim::kernel
