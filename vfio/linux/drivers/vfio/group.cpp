// The group file (vfio_group_fops in vfio_main.c, v6.1.y) and the device file it hands out:
// open rules, GET_STATUS / SET_CONTAINER / UNSET_CONTAINER / GET_DEVICE_FD, device open and
// close with container assignment, and the device fd's ioctl dispatch.
#include <linux/vfio.h>

#include <cerrno>

#include "vfio/linux/lib/fault-inject.h"
#include "vfio/linux/drivers/vfio/vfio.h"

namespace vfiosim::kernel {

namespace {
constexpr uint64_t kPageSize = 4096;
}

// vfio_group_fops_open()
long Vfio::group_open(Task& t, vfio_group* group, file*& f) {
  mutex_guard lock(group->group_lock);
  if (refcount_read(group->drivers) == 0) return -ENODEV;  // racing with removal
  if (group->type == VFIO_NO_IOMMU && !t.capable(CAP_SYS_RAWIO)) return -EPERM;
  if (group->opened_file) return -EBUSY;  // one open file per group, system-wide
  f = alloc_file(&group_fops_, group, "/dev/vfio/" + group->name);
  kref_get(group->dev_ref);  // the cdev holds the group device while the file is open
  group->opened_file = f;
  return 0;
}

// vfio_group_fops_release(): runs only after every device fd is gone (they hold this file).
int Vfio::group_release(file& f) {
  auto* group = static_cast<vfio_group*>(f.private_data);
  group->group_lock.lock();
  if (group->container) group_detach_container(group);
  group->opened_file = nullptr;
  group->group_lock.unlock();
  vfio_group_put_dev(group);
  return 0;
}

long Vfio::group_ioctl(file& f, unsigned cmd, uint64_t arg) {
  auto* group = static_cast<vfio_group*>(f.private_data);
  switch (cmd) {
    case VFIO_GROUP_GET_STATUS: return group_get_status(group, arg);
    case VFIO_GROUP_SET_CONTAINER: return group_set_container(group, arg);
    case VFIO_GROUP_UNSET_CONTAINER: return group_unset_container(group);
    case VFIO_GROUP_GET_DEVICE_FD: return group_get_device_fd(group, arg);
    default: return -ENOTTY;
  }
}

// vfio_group_ioctl_get_status()
long Vfio::group_get_status(vfio_group* group, uint64_t arg) {
  Task* t = current();
  vfio_group_status status{};
  if (t->copy_from_user(&status, arg, 8)) return -EFAULT;
  if (status.argsz < 8) return -EINVAL;
  status.flags = 0;
  {
    mutex_guard lock(group->group_lock);
    if (!group->group) return -ENODEV;
    if (group->container) status.flags |= VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET;
    else if (!iommu_ || !iommu_->iommu_group_dma_owner_claimed(group->group)) status.flags |= VFIO_GROUP_FLAGS_VIABLE;
  }
  return t->copy_to_user(arg, &status, 8) ? -EFAULT : 0;
}

// vfio_group_ioctl_set_container()
long Vfio::group_set_container(vfio_group* group, uint64_t arg) {
  Task* t = current();
  int fd = 0;
  if (t->copy_from_user(&fd, arg, sizeof fd)) return -EFAULT;
  file* f = t->fget(fd);
  if (!f) return -EBADF;
  long ret = 0;
  {
    mutex_guard lock(group->group_lock);
    if (group->container || group->container_users) ret = -EINVAL;
    else if (!group->group) ret = -ENODEV;
    else if (f->f_op != &container_fops_) ret = -EINVAL;  // not a VFIO container
    else ret = container_attach_group(static_cast<vfio_container*>(f->private_data), group);
  }
  fput(f);
  return ret;
}

// vfio_group_ioctl_unset_container()
long Vfio::group_unset_container(vfio_group* group) {
  mutex_guard lock(group->group_lock);
  if (!group->container) return -EINVAL;
  if (group->container_users != 1) return -EBUSY;  // device fds are open
  group_detach_container(group);
  return 0;
}

// vfio_device_get_from_name(): the most recently registered first; a device being unregistered
// (registration refcount zero) is skipped and the search goes on.
vfio_device* Vfio::vfio_device_get_from_name(vfio_group* group, const std::string& buf, int& err) {
  mutex_guard lock(group->device_lock);
  for (vfio_device* d : group->device_list) {
    int ret = 0;
    if (d->ops->match) {
      ret = d->ops->match(*d, buf);
      if (ret < 0) {
        err = ret;
        return nullptr;
      }
    } else {
      ret = dev_name(d->dev) == buf;
    }
    if (ret && vfio_device_try_get_registration(d)) return d;
  }
  err = -ENODEV;
  return nullptr;
}

// vfio_device_assign_container()
int Vfio::vfio_device_assign_container(vfio_device* device) {
  vfio_group* group = device->group;
  if (!group->container || !group->container->iommu_driver || !group->container_users) return -EINVAL;
  if (group->type == VFIO_NO_IOMMU && !current()->capable(CAP_SYS_RAWIO)) return -EPERM;
  get_file(group->opened_file);
  ++group->container_users;
  return 0;
}

// vfio_device_unassign_container()
void Vfio::vfio_device_unassign_container(vfio_device* device) {
  vfio_group* group = device->group;
  group->group_lock.lock();
  if (group->container_users <= 1) kernel_warn("WARNING", "vfio_device_unassign_container: container_users <= 1");
  --group->container_users;
  file* f = group->opened_file;
  group->group_lock.unlock();
  fput(f);  // the group file's release (if last) runs at the return to userspace
}

// vfio_device_open()
file* Vfio::vfio_device_open(vfio_device* device, int& err) {
  vfio_group* group = device->group;
  {
    mutex_guard lock(group->group_lock);
    err = vfio_device_assign_container(device);
    if (err) return nullptr;
  }
  device->dev_set->lock.lock();
  ++device->open_count;
  if (device->open_count == 1) {
    // 6.1 calls open_device with group_lock held, after copying the group's kvm: a driver that
    // takes kvm->lock there orders group_lock -> kvm->lock, the reverse of kvm_device_release()
    // calling vfio_file_set_kvm() (C-140, fixed only in 6.2; the lock checker reports it).
    group->group_lock.lock();
    device->kvm = group->kvm;
    if (device->ops->open_device) {
      // An injected failure stands for the driver's open_device failing to allocate.
      err = should_fail(fault_site::kVfioOpenDevice) ? -ENOMEM : device->ops->open_device(*device);
      if (err) {
        group->group_lock.unlock();
        --device->open_count;
        if (!device->open_count) device->kvm = nullptr;
        device->dev_set->lock.unlock();
        vfio_device_unassign_container(device);
        return nullptr;
      }
    }
    // vfio_device_container_register(): strictly paired with the last close (DeRossi fix).
    vfio_container* c = group->container;
    if (c->iommu_driver && c->iommu_driver->register_device) c->iommu_driver->register_device(c->iommu_data, *device);
    group->group_lock.unlock();
  }
  device->dev_set->lock.unlock();
  if (group->type == VFIO_NO_IOMMU) kernel_warn("dev_warn", dev_name(device->dev) + ": vfio-noiommu device opened by user");
  return alloc_file(&device_fops_, device, "[vfio-device]");
}

// vfio_group_ioctl_get_device_fd()
long Vfio::group_get_device_fd(vfio_group* group, uint64_t arg) {
  Task* t = current();
  std::string name;
  if (int ret = t->strndup_user(arg, kPageSize, name)) return ret;
  int err = 0;
  vfio_device* device = vfio_device_get_from_name(group, name, err);
  if (!device) return err;
  if (t->open_fds() >= t->rlimit_nofile) {  // get_unused_fd_flags()
    vfio_device_put_registration(device);
    return -EMFILE;
  }
  file* f = vfio_device_open(device, err);
  if (!f) {
    vfio_device_put_registration(device);
    return err;
  }
  return t->install_fd(f, true);  // O_CLOEXEC; the registration reference now belongs to the file
}

// vfio_device_fops_release()
int Vfio::device_release(file& f) {
  auto* device = static_cast<vfio_device*>(f.private_data);
  vfio_group* group = device->group;
  device->dev_set->lock.lock();
  if (!device->open_count) kernel_warn("WARNING", "vfio_device_fops_release with open_count 0");
  group->group_lock.lock();
  if (device->open_count == 1) {
    if (device->ops->close_device) device->ops->close_device(*device);
    vfio_container* c = group->container;
    if (c && c->iommu_driver && c->iommu_driver->unregister_device)
      c->iommu_driver->unregister_device(c->iommu_data, *device);
  }
  group->group_lock.unlock();
  --device->open_count;
  if (!device->open_count) device->kvm = nullptr;
  device->dev_set->lock.unlock();
  vfio_device_unassign_container(device);
  vfio_device_put_registration(device);
  return 0;
}

// vfio_file_set_kvm()
void Vfio::vfio_file_set_kvm(file* f, struct kvm* kvm) {
  vfio_group* group = vfio_file_group(f);
  if (!group) return;
  mutex_guard lock(group->group_lock);
  group->kvm = kvm;
}

int Vfio::vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported_ops, size_t minsz) {
  if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported_ops) return -EINVAL;
  if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0;
  if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET))) return -EINVAL;  // one of them without PROBE
  if (argsz < minsz) return -EINVAL;
  return 1;
}

}  // namespace vfiosim::kernel
