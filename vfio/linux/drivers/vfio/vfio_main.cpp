// vfio_main.c (v6.1.y): the vfio_device life cycle, device sets, vfio_group creation and
// teardown, the group and device file operations.
#include <linux/vfio.h>

#include <algorithm>
#include <cerrno>

#include "vfio/linux/drivers/vfio/vfio.h"

#include "vfio/linux/lib/fault-inject.h"

namespace vfiosim::kernel {

namespace {
constexpr int kMinorMask = (1 << 20) - 1;
constexpr uint64_t kPageSize = 4096;
int ida_alloc(std::set<int>& ida, int max) {
  int id = 0;
  while (ida.count(id)) ++id;
  if (id > max) return -ENOSPC;
  ida.insert(id);
  return id;
}
}  // namespace

Vfio::Vfio(IommuCore* iommu, IommuGroups* fake_groups, Vfs& vfs) : iommu_(iommu), fake_groups_(fake_groups), vfs_(vfs) {
  container_fops_.name = "vfio_fops";
  container_fops_.release = [this](file& f) { return container_release(f); };
  container_fops_.unlocked_ioctl = [this](file& f, unsigned cmd, uint64_t arg) { return container_ioctl(f, cmd, arg); };
  group_fops_.name = "vfio_group_fops";
  group_fops_.release = [this](file& f) { return group_release(f); };
  group_fops_.unlocked_ioctl = [this](file& f, unsigned cmd, uint64_t arg) { return group_ioctl(f, cmd, arg); };
  device_fops_.name = "vfio_device_fops";
  device_fops_.release = [this](file& f) { return device_release(f); };
  device_fops_.unlocked_ioctl = [this](file& f, unsigned cmd, uint64_t arg) { return device_ioctl(f, cmd, arg); };
  device_fops_.read = [](file& f, uint64_t buf, uint64_t count, uint64_t pos) -> long {
    auto* d = static_cast<vfio_device*>(f.private_data);
    return d->ops->read ? d->ops->read(*d, buf, count, pos) : -EINVAL;
  };
  device_fops_.write = [](file& f, uint64_t buf, uint64_t count, uint64_t pos) -> long {
    auto* d = static_cast<vfio_device*>(f.private_data);
    return d->ops->write ? d->ops->write(*d, buf, count, pos) : -EINVAL;
  };
  device_fops_.mmap = [](file& f, vm_area& vma) -> int {  // vfio_device_fops_mmap()
    auto* d = static_cast<vfio_device*>(f.private_data);
    return d->ops->mmap ? d->ops->mmap(*d, vma) : -EINVAL;
  };
  // vfio_noiommu_ops: attach/detach do nothing, every ioctl but CHECK_EXTENSION is -ENOTTY.
  noiommu_ops_.name = "vfio-noiommu";
  noiommu_ops_.open = [](unsigned long arg, long& err) -> void* {
    if (arg != VFIO_NOIOMMU_IOMMU) err = -EINVAL;
    else if (!current() || !current()->capable(CAP_SYS_RAWIO)) err = -EPERM;
    else err = 0;
    return nullptr;
  };
  noiommu_ops_.release = [](void*) {};
  noiommu_ops_.ioctl = [this](void*, unsigned cmd, uint64_t arg) -> long {
    if (cmd == VFIO_CHECK_EXTENSION) return enable_unsafe_noiommu_mode && arg == VFIO_NOIOMMU_IOMMU ? 1 : 0;
    return -ENOTTY;
  };
  noiommu_ops_.attach_group = [](void*, iommu_group*, vfio_group_type) { return 0; };
  noiommu_ops_.detach_group = [](void*, iommu_group*) {};
  iommu_drivers_list_.push_front(&noiommu_ops_);
  // vfio_container_init(): the misc device /dev/vfio/vfio.
  vfs_.add_node("/dev/vfio/vfio", [this](Task& t, file*& f) { return container_open(t, f); });
}

Vfio::~Vfio() = default;

// ---- device sets ----

// vfio_assign_device_set()
int Vfio::vfio_assign_device_set(vfio_device* device, const void* set_id) {
  if (!set_id) {
    kernel_warn("WARNING", "vfio_assign_device_set: NULL set_id");
    return -EINVAL;
  }
  auto& slot = device_set_xa_[set_id];
  if (!slot) {
    slot = std::make_unique<vfio_device_set>();
    slot->set_id = set_id;
  }
  ++slot->device_count;
  slot->lock.lock();
  device->dev_set = slot.get();
  slot->device_list.push_back(device);
  slot->lock.unlock();
  return 0;
}

// vfio_release_device_set()
static void release_device_set(std::map<const void*, std::unique_ptr<vfio_device_set>>& xa, vfio_device* device) {
  vfio_device_set* set = device->dev_set;
  if (!set) return;
  set->lock.lock();
  set->device_list.remove(device);
  set->lock.unlock();
  device->dev_set = nullptr;
  if (--set->device_count == 0) xa.erase(set->set_id);
}

// ---- the vfio_device life cycle ----

// vfio_init_device()
int Vfio::vfio_init_device(vfio_device* device, struct device* dev, const vfio_device_ops* ops) {
  const int index = ida_alloc(device_ida_, kMinorMask);
  if (index < 0) return index;
  device->index = index;
  device->comp.reinit();
  device->dev = dev;
  device->ops = ops;
  if (ops->init) {
    if (int ret = ops->init(*device)) {
      release_device_set(device_set_xa_, device);
      device_ida_.erase(index);  // ops->release is not called on this path
      device->index = -1;
      return ret;
    }
  }
  device_initialize(&device->device);
  device->device.release = [this](struct device* d) { device_release(container_of(d, &vfio_device::device)); };
  device->device.parent = device->dev;  // (the vfio-dev class is not modelled)
  return 0;
}

// vfio_put_device()
void Vfio::vfio_put_device(vfio_device* device) { put_device(&device->device); }

// vfio_device_release(): the last put of the struct device.
void Vfio::device_release(vfio_device* device) {
  release_device_set(device_set_xa_, device);
  device_ida_.erase(device->index);
  --live_devices_;
  if (device->ops->release) device->ops->release(*device);  // must vfio_free_device()
  else kernel_warn("WARNING", "vfio device " + dev_name(device->dev) + " has no release op: leaked");
}

// vfio_free_device()
void Vfio::vfio_free_device(vfio_device* device) {
  if (device->free_fn) device->free_fn(device);
}

void Vfio::vfio_device_put_registration(vfio_device* d) {
  if (refcount_dec_and_test(d->refcount)) d->comp.complete();
}

vfio_group* Vfio::find_group(const iommu_group* g) const {
  for (vfio_group* group : group_list_)
    if (group->group == g) return group;
  return nullptr;
}

// vfio_create_group(): /dev/vfio/<id> appears here.
vfio_group* Vfio::vfio_create_group(iommu_group* g, vfio_group_type type, long& err) {
  if (should_fail(fault_site::kVfioGroupAlloc)) {  // vfio_group_alloc(): kzalloc failed
    err = -ENOMEM;
    return nullptr;
  }
  const int minor = ida_alloc(group_ida_, kMinorMask);
  if (minor < 0) {
    err = minor;
    return nullptr;
  }
  auto* group = new vfio_group;
  group->minor = minor;
  kref_init(group->dev_ref);
  refcount_set(group->drivers, 1);
  group->group = g;
  group->type = type;
  group->name = (type == VFIO_NO_IOMMU ? "noiommu-" : "") + std::to_string(g->id);
  if (iommu_ && type == VFIO_IOMMU) ++g->refcount;  // the vfio_group's own iommu_group reference
  group_lock_.lock();
  if (vfio_group* existing = find_group(g)) {  // created concurrently: use that one
    refcount_inc(existing->drivers);
    group_lock_.unlock();
    group_ida_.erase(minor);
    if (iommu_ && type == VFIO_IOMMU) --g->refcount;
    delete group;
    return existing;
  }
  group->cdev_added = true;
  vfs_.add_node("/dev/vfio/" + group->name,
                [this, group](Task& t, file*& f) { return group_open(t, group, f); });
  group_list_.push_back(group);
  live_groups_.insert(group);
  group_lock_.unlock();
  return group;
}

// vfio_group_find_or_alloc()
vfio_group* Vfio::vfio_group_find_or_alloc(struct device* dev, long& err) {
  iommu_group* g = (iommu_ && iommu_->driver()) ? iommu_->iommu_group_get(dev) : nullptr;
  if (!g) {
    if (enable_unsafe_noiommu_mode) {
      kernel_warn("taint", "Adding kernel taint for vfio-noiommu group on device " + dev_name(dev));
      return vfio_noiommu_group_alloc(dev, VFIO_NO_IOMMU, err);
    }
    err = -EINVAL;
    return nullptr;
  }
  // VFIO always maps with IOMMU_CACHE: an IOMMU that cannot enforce coherency is refused.
  if (!iommu_->iommu_capable(IOMMU_CAP_CACHE_COHERENCY)) {
    iommu_->iommu_group_put(g);
    err = -EINVAL;
    return nullptr;
  }
  group_lock_.lock();
  vfio_group* group = find_group(g);
  if (group) refcount_inc(group->drivers);
  group_lock_.unlock();
  if (!group) group = vfio_create_group(g, VFIO_IOMMU, err);
  iommu_->iommu_group_put(g);
  return group;
}

// vfio_noiommu_group_alloc(): a fake iommu_group named "vfio-noiommu" holding just this device.
vfio_group* Vfio::vfio_noiommu_group_alloc(struct device* dev, vfio_group_type type, long& err) {
  if (!fake_groups_) {
    err = -ENODEV;
    return nullptr;
  }
  iommu_group* g = fake_groups_->iommu_group_alloc();
  // iommu_group_add_device() in the kernel, which also points dev->iommu_group at the group; the
  // port only lists the device (and links it in the group's devices/), so dev->iommu_group (and
  // the device's own iommu_group link, reports) stay as they were.
  fake_groups_->iommu_group_sysfs_link_member(g, dev);
  g->devices.push_back(dev);
  vfio_group* group = vfio_create_group(g, type, err);
  if (!group) {
    g->devices.clear();
    fake_groups_->iommu_group_release(g);
  }
  return group;
}

// __vfio_register_dev(). Kernel bug fixed by design (spec §7.2): 6.1 set device->group after the
// -EBUSY duplicate check, whose error path then put a NULL group; here it is set first, and the
// caller sees the same -EBUSY.
int Vfio::__vfio_register_dev(vfio_device* device, vfio_group* group) {
  if (!device->dev_set) vfio_assign_device_set(device, device);  // a singleton set
  device->group = group;
  group->device_lock.lock();
  vfio_device* existing = nullptr;
  for (vfio_device* d : group->device_list)
    if (d->dev == device->dev && vfio_device_try_get_registration(d)) existing = d;
  group->device_lock.unlock();
  if (existing) {
    kernel_warn("WARNING", "Device already exists on group " + group->name);
    vfio_device_put_registration(existing);
    vfio_device_remove_group(device);
    device->group = nullptr;
    return -EBUSY;
  }
  device->device.init_name = "vfio" + std::to_string(device->index);  // dev_set_name()
  if (int ret = device_add(&device->device)) {  // /sys/class/vfio-dev/vfio<index>
    vfio_device_remove_group(device);
    device->group = nullptr;
    return ret;
  }
  refcount_set(device->refcount, 1);
  group->device_lock.lock();
  group->device_list.push_front(device);  // list_add: most recent first
  group->device_lock.unlock();
  return 0;
}

// vfio_register_group_dev()
int Vfio::vfio_register_group_dev(vfio_device* device) {
  long err = 0;
  vfio_group* group = vfio_group_find_or_alloc(device->dev, err);
  if (!group) return static_cast<int>(err);
  return __vfio_register_dev(device, group);
}

// vfio_register_emulated_iommu_dev()
int Vfio::vfio_register_emulated_iommu_dev(vfio_device* device) {
  long err = 0;
  vfio_group* group = vfio_noiommu_group_alloc(device->dev, VFIO_EMULATED_IOMMU, err);
  if (!group) return static_cast<int>(err);
  return __vfio_register_dev(device, group);
}

void Vfio::vfio_group_put_dev(vfio_group* group) {
  kref_put(group->dev_ref, [this, group] {  // vfio_group_release()
    if (group->group) kernel_warn("WARNING", "vfio_group released with its iommu_group still set");
    group_ida_.erase(group->minor);
    live_groups_.erase(group);
    delete group;
  });
}

// vfio_device_remove_group(): drop the device's `drivers` reference; the last one tears the group
// down (node removed, container force-detached, iommu_group cleared).
void Vfio::vfio_device_remove_group(vfio_device* device) {
  vfio_group* group = device->group;
  iommu_group* g = group->group;
  if (group->type != VFIO_IOMMU && g) {
    g->devices.erase(std::remove(g->devices.begin(), g->devices.end(), device->dev), g->devices.end());
    if (fake_groups_) fake_groups_->iommu_group_sysfs_unlink_member(g, device->dev);
  }
  group_lock_.lock();
  if (!refcount_dec_and_test(group->drivers)) {
    group_lock_.unlock();
    return;
  }
  group_list_.remove(group);
  if (group->cdev_added) vfs_.remove_node("/dev/vfio/" + group->name);
  group->cdev_added = false;
  group->group_lock.lock();
  if (group->container) group_detach_container(group);
  group->group = nullptr;  // blocks all new users
  group->group_lock.unlock();
  group_lock_.unlock();
  if (g) {
    if (group->type == VFIO_IOMMU) iommu_->iommu_group_put(g);
    else if (fake_groups_) fake_groups_->iommu_group_release(g);
  }
  vfio_group_put_dev(group);
}

// vfio_unregister_group_dev(): waits for every user; asks the driver to make them let go.
void Vfio::vfio_unregister_group_dev(vfio_device* device) {
  vfio_group* group = device->group;
  unsigned i = 0;
  bool interrupted = false;
  vfio_device_put_registration(device);
  bool done = device->comp.try_wait_for_completion();
  while (!done) {
    if (device->ops->request) device->ops->request(*device, i++);
    if (interrupted) {
      done = device->comp.wait_for_completion_timeout(sc_core::sc_time(10, sc_core::SC_SEC));
    } else {
      done = device->comp.wait_for_completion_timeout(sc_core::sc_time(10, sc_core::SC_SEC));
      if (!done && signal_pending && signal_pending(*device)) {
        interrupted = true;
        Task* t = current();
        kernel_warn("dev_warn", dev_name(device->dev) + ": Device is currently in use, task \"" +
                                    (t ? t->comm() : std::string("kernel")) + "\" (" +
                                    std::to_string(t ? t->pid() : 0) + ") blocked until device is released");
      }
    }
  }
  group->device_lock.lock();
  group->device_list.remove(device);
  group->device_lock.unlock();
  device_del(&device->device);
  vfio_device_remove_group(device);
}

std::vector<std::string> Vfio::leaks() const {
  std::vector<std::string> out;
  if (live_devices_) out.push_back(std::to_string(live_devices_) + " vfio_device(s) not released");
  if (!live_groups_.empty()) out.push_back(std::to_string(live_groups_.size()) + " vfio_group(s) not released");
  if (live_containers_) out.push_back(std::to_string(live_containers_) + " vfio_container(s) not released");
  if (!device_set_xa_.empty()) out.push_back(std::to_string(device_set_xa_.size()) + " vfio_device_set(s) not released");
  return out;
}

}  // namespace vfiosim::kernel
