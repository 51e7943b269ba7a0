// container.c (v6.1.y): /dev/vfio/vfio, the IOMMU backend registry, SET_IOMMU and
// CHECK_EXTENSION, attaching and detaching groups ("detaching the last group deprivileges a
// container").
#include <linux/vfio.h>

#include <cerrno>

#include "vfio/linux/lib/fault-inject.h"
#include "vfio/linux/drivers/vfio/vfio.h"

namespace vfiosim::kernel {

// vfio_iommu_driver_allowed(): a no-IOMMU container takes only the no-IOMMU driver, and the other
// way round.
bool Vfio::driver_allowed(const vfio_container* c, const vfio_iommu_driver_ops* d) const {
  return c->noiommu == (d == &noiommu_ops_);
}

// vfio_register_iommu_driver(): prepended, so the most recently registered is probed first.
int Vfio::vfio_register_iommu_driver(const vfio_iommu_driver_ops* ops) {
  if (static_cast<bool>(ops->register_device) != static_cast<bool>(ops->unregister_device)) {
    kernel_warn("WARNING", "vfio_register_iommu_driver: register_device without unregister_device");
    return -EINVAL;
  }
  mutex_guard lock(iommu_drivers_lock_);
  for (const auto* d : iommu_drivers_list_)
    if (d == ops) return -EINVAL;
  iommu_drivers_list_.push_front(ops);
  return 0;
}

void Vfio::vfio_unregister_iommu_driver(const vfio_iommu_driver_ops* ops) {
  mutex_guard lock(iommu_drivers_lock_);
  iommu_drivers_list_.remove(ops);
}

// vfio_pin_pages()
int Vfio::vfio_pin_pages(vfio_device* device, uint64_t iova, int npage, int prot, std::vector<uint64_t>* pages) {
  if (!pages || npage <= 0 || !device->open_count) {
    if (!device->open_count) kernel_warn("WARNING", "vfio_pin_pages: device not open");
    return -EINVAL;
  }
  if (npage > static_cast<int>(4096 / 8)) return -E2BIG;  // VFIO_PIN_PAGES_MAX_ENTRIES
  vfio_container* c = device->group->container;
  if (!c || !c->iommu_driver || !c->iommu_driver->pin_pages) return -ENOTTY;
  return c->iommu_driver->pin_pages(c->iommu_data, device->group->group, iova, npage, prot, *pages);
}

void Vfio::vfio_unpin_pages(vfio_device* device, uint64_t iova, int npage) {
  if (npage <= 0 || npage > static_cast<int>(4096 / 8) || !device->open_count) {
    kernel_warn("WARNING", "vfio_unpin_pages: bad arguments");
    return;
  }
  vfio_container* c = device->group->container;
  if (c && c->iommu_driver && c->iommu_driver->unpin_pages) c->iommu_driver->unpin_pages(c->iommu_data, iova, npage);
}

int Vfio::vfio_dma_rw(vfio_device* device, uint64_t iova, void* data, size_t len, bool write) {
  if (!data || !len || !device->open_count) return -EINVAL;
  vfio_container* c = device->group->container;
  if (!c || !c->iommu_driver || !c->iommu_driver->dma_rw) return -ENOTTY;
  return c->iommu_driver->dma_rw(c->iommu_data, iova, data, len, write);
}

// vfio_fops_open()
long Vfio::container_open(Task&, file*& f) {
  if (should_fail(fault_site::kVfioContainerAlloc)) return -ENOMEM;  // kzalloc failed
  auto* c = new vfio_container;
  kref_init(c->ref);
  ++live_containers_;
  f = alloc_file(&container_fops_, c, "/dev/vfio/vfio");
  return 0;
}

void Vfio::container_put(vfio_container* c) {
  kref_put(c->ref, [this, c] {
    --live_containers_;
    delete c;
  });
}

// vfio_fops_release(): the container (and its mappings) lives on while a group is attached.
int Vfio::container_release(file& f) {
  container_put(static_cast<vfio_container*>(f.private_data));
  return 0;
}

long Vfio::container_ioctl(file& f, unsigned cmd, uint64_t arg) {
  auto* c = static_cast<vfio_container*>(f.private_data);
  if (!c) return -EINVAL;
  switch (cmd) {
    case VFIO_GET_API_VERSION: return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION: return check_extension(c, arg);
    case VFIO_SET_IOMMU: return set_iommu(c, arg);
    default: {
      // Kernel bug fixed by design (spec §7.2): 6.1 reads the backend without the lock; holding
      // it for read keeps a concurrent last-group detach from releasing the backend under the
      // ioctl, with the same errnos.
      c->group_lock.down_read();
      const vfio_iommu_driver_ops* d = c->iommu_driver;
      void* data = c->iommu_data;
      const long ret = d && d->ioctl ? d->ioctl(data, cmd, arg) : -EINVAL;
      c->group_lock.up_read();
      return ret;
    }
  }
}

// vfio_container_ioctl_check_extension(): never an error.
long Vfio::check_extension(vfio_container* c, unsigned long arg) {
  long ret = 0;
  c->group_lock.down_read();
  if (!c->iommu_driver) {
    mutex_guard lock(iommu_drivers_lock_);
    for (const auto* d : iommu_drivers_list_) {
      if (!d->ioctl) continue;
      if (!c->group_list.empty() && !driver_allowed(c, d)) continue;  // only once groups say what it is
      ret = d->ioctl(nullptr, VFIO_CHECK_EXTENSION, arg);
      if (ret > 0) break;
    }
  } else if (c->iommu_driver->ioctl) {
    ret = c->iommu_driver->ioctl(c->iommu_data, VFIO_CHECK_EXTENSION, arg);
  }
  c->group_lock.up_read();
  return ret;
}

// vfio_ioctl_set_iommu(): the first driver that claims the model and attaches every group wins;
// otherwise the last error, or -ENODEV if none claimed it.
long Vfio::set_iommu(vfio_container* c, unsigned long arg) {
  c->group_lock.down_write();
  long ret = -ENODEV;
  if (c->group_list.empty() || c->iommu_driver) {
    c->group_lock.up_write();
    return -EINVAL;
  }
  iommu_drivers_lock_.lock();
  for (const auto* d : iommu_drivers_list_) {
    if (!driver_allowed(c, d)) continue;
    if (!d->ioctl || d->ioctl(nullptr, VFIO_CHECK_EXTENSION, arg) <= 0) continue;
    long err = 0;
    void* data = d->open(arg, err);
    if (err) {
      ret = err;
      continue;
    }
    // __vfio_container_attach_groups(), unwinding in reverse on failure.
    std::vector<vfio_group*> attached;
    err = 0;
    for (vfio_group* g : c->group_list) {
      err = d->attach_group(data, g->group, g->type);
      if (err) break;
      attached.push_back(g);
    }
    if (err) {
      for (auto it = attached.rbegin(); it != attached.rend(); ++it) d->detach_group(data, (*it)->group);
      d->release(data);
      ret = err;
      continue;
    }
    c->iommu_driver = d;
    c->iommu_data = data;
    ret = 0;
    break;
  }
  iommu_drivers_lock_.unlock();
  c->group_lock.up_write();
  return ret;
}

// vfio_container_attach_group() (caller holds group->group_lock)
int Vfio::container_attach_group(vfio_container* c, vfio_group* g) {
  if (g->type == VFIO_NO_IOMMU && !current()->capable(CAP_SYS_RAWIO)) return -EPERM;
  c->group_lock.down_write();
  int ret = 0;
  if (!c->group_list.empty() && c->noiommu != (g->type == VFIO_NO_IOMMU)) {
    ret = -EPERM;  // real groups and fake groups cannot mix
  } else if (g->type == VFIO_IOMMU && iommu_ && (ret = iommu_->iommu_group_claim_dma_owner(g->group, g))) {
    // -EPERM: a kernel driver uses the group's DMA; -EBUSY: on a non-default domain
  } else {
    if (c->iommu_driver) {
      ret = c->iommu_driver->attach_group(c->iommu_data, g->group, g->type);
      if (ret && g->type == VFIO_IOMMU && iommu_) iommu_->iommu_group_release_dma_owner(g->group);
    }
    if (!ret) {
      g->container = c;
      g->container_users = 1;
      c->noiommu = g->type == VFIO_NO_IOMMU;
      c->group_list.push_back(g);
      kref_get(c->ref);
    }
  }
  c->group_lock.up_write();
  return ret;
}

// vfio_group_detach_container() (caller holds group->group_lock)
void Vfio::group_detach_container(vfio_group* g) {
  vfio_container* c = g->container;
  if (g->container_users != 1) kernel_warn("WARNING", "vfio_group_detach_container: container_users != 1");
  c->group_lock.down_write();
  if (c->iommu_driver && c->iommu_driver->detach_group) c->iommu_driver->detach_group(c->iommu_data, g->group);
  if (g->type == VFIO_IOMMU && iommu_ && g->group) iommu_->iommu_group_release_dma_owner(g->group);
  g->container = nullptr;
  g->container_users = 0;
  c->group_list.remove(g);
  if (c->group_list.empty() && c->iommu_driver) {  // detaching the last group deprivileges it
    c->iommu_driver->release(c->iommu_data);
    c->iommu_driver = nullptr;
    c->iommu_data = nullptr;
  }
  c->group_lock.up_write();
  container_put(c);
}

}  // namespace vfiosim::kernel
