// The VFIO core (drivers/vfio/vfio.h, include/linux/vfio.h, v6.1.y): vfio_device with its two
// counters (its embedded struct device's reference count for memory, the registration refcount
// with a completion) and its parent device of any bus,
// device sets, vfio_group (one per iommu_group, /dev/vfio/<id>), vfio_container
// (/dev/vfio/vfio) and the IOMMU-backend driver interface. `Vfio` holds the module state of
// vfio_main.c and container.c. Names, lifecycles, locks and errnos follow the kernel; see
// shared/spec/vfio-core.md §1-2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "vfio/linux/drivers/iommu/iommu.h"
#include "vfio/linux/kernel/sync.h"
#include "vfio/linux/kernel/task.h"

namespace vfiosim::kernel {

struct kvm;
struct vfio_device;
struct vfio_group;
struct vfio_container;

struct vfio_device_ops {
  std::string name;
  std::function<int(vfio_device&)> init;
  std::function<void(vfio_device&)> release;  // must end in vfio_free_device() (v6.1)
  std::function<int(vfio_device&)> open_device;
  std::function<void(vfio_device&)> close_device;
  std::function<long(vfio_device&, uint64_t ubuf, uint64_t count, uint64_t pos)> read;
  std::function<long(vfio_device&, uint64_t ubuf, uint64_t count, uint64_t pos)> write;
  std::function<long(vfio_device&, unsigned cmd, uint64_t arg)> ioctl;
  std::function<void(vfio_device&, unsigned count)> request;
  std::function<int(vfio_device&, const std::string& buf)> match;
  std::function<void(vfio_device&, uint64_t iova, uint64_t length)> dma_unmap;
  /// VFIO_DEVICE_FEATURE for the features the core does not handle: flags, the user pointer to
  /// the data after the 8-byte header, and its size (argsz - 8).
  std::function<int(vfio_device&, uint32_t flags, uint64_t arg, size_t argsz)> device_feature;
  std::function<int(vfio_device&, vm_area&)> mmap;
};

class iova_bitmap;

/// One range of a DMA_LOGGING_START (the interval tree's node: [start, last]).
struct vfio_log_range {
  uint64_t start, last;
};

/// struct vfio_log_ops: device DMA dirty tracking (drivers set it before registration).
struct vfio_log_ops {
  /// May round `page_size` up to what the device tracks.
  std::function<int(vfio_device&, const std::vector<vfio_log_range>& ranges, uint64_t& page_size)> log_start;
  std::function<int(vfio_device&)> log_stop;
  std::function<int(vfio_device&, uint64_t iova, uint64_t length, iova_bitmap& dirty)> log_read_and_clear;
};

struct vfio_device_set {
  const void* set_id = nullptr;
  mutex lock{"dev_set->lock"};
  std::list<vfio_device*> device_list;
  unsigned device_count = 0;
};

enum vfio_group_type { VFIO_IOMMU, VFIO_EMULATED_IOMMU, VFIO_NO_IOMMU };

struct vfio_device {
  // Public (driver-visible)
  struct device* dev = nullptr;  // the parent device (vfio-pci: the pci_dev's; named by dev_name(dev))
  const vfio_device_ops* ops = nullptr;
  const vfio_log_ops* log_ops = nullptr;
  vfio_group* group = nullptr;
  vfio_device_set* dev_set = nullptr;
  // Private
  int index = -1;             // device_ida: "vfio<index>"
  /// The vfio-dev class device "vfio<index>" under `dev`: its reference count is the object's
  /// lifetime (vfio_put_device), its release vfio_device_release(); device_add()ed while
  /// registered (/sys/class/vfio-dev/vfioN).
  struct device device;
  refcount_t refcount;        // registration users
  unsigned open_count = 0;    // under dev_set->lock
  struct kvm* kvm = nullptr;  // group->kvm copied at first open, cleared at last close (dev_set->lock)
  completion comp;            // refcount reached zero
  std::function<void(vfio_device*)> free_fn;  // how vfio_free_device() frees the embedding struct
};

struct vfio_group {
  kref dev_ref;                 // the group's struct device
  int minor = -1;
  refcount_t drivers;
  unsigned container_users = 0;
  iommu_group* group = nullptr;  // iommu_group; NULL once the last device is gone
  vfio_container* container = nullptr;
  std::list<vfio_device*> device_list;
  mutex device_lock{"group->device_lock"};
  vfio_group_type type = VFIO_IOMMU;
  mutex group_lock{"group->group_lock"};
  file* opened_file = nullptr;
  struct kvm* kvm = nullptr;  // vfio_file_set_kvm(), under group_lock
  std::string name;  // "26" or "noiommu-3"
  bool cdev_added = false;
};

/// struct vfio_iommu_driver_ops
struct vfio_iommu_driver_ops {
  std::string name;
  std::function<void*(unsigned long arg, long& err)> open;
  std::function<void(void* data)> release;
  std::function<long(void* data, unsigned cmd, uint64_t arg)> ioctl;
  std::function<int(void* data, iommu_group* g, vfio_group_type type)> attach_group;
  std::function<void(void* data, iommu_group* g)> detach_group;
  std::function<void(void* data, vfio_device& d)> register_device;
  std::function<void(void* data, vfio_device& d)> unregister_device;
  std::function<int(void* data, iommu_group* g, uint64_t iova, int npage, int prot, std::vector<uint64_t>& pages)> pin_pages;
  std::function<void(void* data, uint64_t iova, int npage)> unpin_pages;
  std::function<int(void* data, uint64_t iova, void* buf, size_t len, bool write)> dma_rw;
};

struct vfio_container {
  kref ref;
  std::list<vfio_group*> group_list;
  rw_semaphore group_lock{"container->group_lock"};
  const vfio_iommu_driver_ops* iommu_driver = nullptr;
  void* iommu_data = nullptr;
  bool noiommu = false;
};

class Vfio {
 public:
  /// `fake_groups` allocates the iommu_groups of emulated and no-IOMMU devices.
  Vfio(IommuCore* iommu, IommuGroups* fake_groups, Vfs& vfs);
  ~Vfio();

  // ---- driver-side API (vfio_main.c) ----
  /// _vfio_alloc_device() for a driver struct T whose first member is `vfio_device vdev`
  /// (vfio_alloc_device(type, member, dev, ops) refuses to compile otherwise).
  template <typename T>
  T* vfio_alloc_device(struct device* dev, const vfio_device_ops* ops, int* err);
  int vfio_init_device(vfio_device* device, struct device* dev, const vfio_device_ops* ops);
  void vfio_put_device(vfio_device* device);
  static void vfio_free_device(vfio_device* device);
  /// vfio_check_feature(): 1 to go on, 0 for a PROBE that is supported, -EINVAL otherwise.
  static int vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported_ops, size_t minsz);
  int vfio_register_group_dev(vfio_device* device);
  int vfio_register_emulated_iommu_dev(vfio_device* device);
  void vfio_unregister_group_dev(vfio_device* device);
  int vfio_assign_device_set(vfio_device* device, const void* set_id);
  /// Emulated-IOMMU services (container.c): pin `npage` pages at `iova` (physical addresses in
  /// `pages`), unpin them, or copy through the container's mappings.
  int vfio_pin_pages(vfio_device* device, uint64_t iova, int npage, int prot, std::vector<uint64_t>* pages);
  void vfio_unpin_pages(vfio_device* device, uint64_t iova, int npage);
  int vfio_dma_rw(vfio_device* device, uint64_t iova, void* data, size_t len, bool write);

  // ---- iommu backends (container.c) ----
  int vfio_register_iommu_driver(const vfio_iommu_driver_ops* ops);
  void vfio_unregister_iommu_driver(const vfio_iommu_driver_ops* ops);

  /// vfio_file_set_kvm(): the KVM-VFIO device associates a group file with a VM (nullptr: none);
  /// a device opened later sees it in device->kvm. Takes group->group_lock.
  void vfio_file_set_kvm(file* f, struct kvm* kvm);
  /// vfio_file_is_group() / the group behind a group file, or nullptr.
  vfio_group* vfio_file_group(file* f) const { return f && f->f_op == &group_fops_ ? static_cast<vfio_group*>(f->private_data) : nullptr; }

  // ---- state for tests and reports ----
  size_t groups() const { return group_list_.size(); }
  vfio_group* find_group(const iommu_group* g) const;
  size_t live_devices() const { return live_devices_; }
  /// What should be gone at the end of a run.
  std::vector<std::string> leaks() const;
  IommuCore* iommu() const { return iommu_; }
  bool enable_unsafe_noiommu_mode = false;
  /// Interruptible unregister waits end early when this returns true (a signal arrived).
  std::function<bool(vfio_device&)> signal_pending;

  // file_operations (exposed for tests)
  const file_operations& container_fops() const { return container_fops_; }
  const file_operations& group_fops() const { return group_fops_; }
  const file_operations& device_fops() const { return device_fops_; }

 private:
  vfio_device* alloc_raw(std::function<vfio_device*()> make, std::function<void(vfio_device*)> del);
  void device_release(vfio_device* device);  // vfio_device_release()
  int __vfio_register_dev(vfio_device* device, vfio_group* group);
  vfio_group* vfio_group_find_or_alloc(struct device* dev, long& err);
  vfio_group* vfio_noiommu_group_alloc(struct device* dev, vfio_group_type type, long& err);
  vfio_group* vfio_create_group(iommu_group* g, vfio_group_type type, long& err);
  void vfio_device_remove_group(vfio_device* device);
  void vfio_group_put_dev(vfio_group* group);
  bool vfio_device_try_get_registration(vfio_device* d) { return refcount_inc_not_zero(d->refcount); }
  void vfio_device_put_registration(vfio_device* d);

  // group fd
  long group_open(Task& t, vfio_group* group, file*& f);
  int group_release(file& f);
  long group_ioctl(file& f, unsigned cmd, uint64_t arg);
  long group_get_status(vfio_group* g, uint64_t arg);
  long group_set_container(vfio_group* g, uint64_t arg);
  long group_unset_container(vfio_group* g);
  long group_get_device_fd(vfio_group* g, uint64_t arg);
  vfio_device* vfio_device_get_from_name(vfio_group* g, const std::string& buf, int& err);
  file* vfio_device_open(vfio_device* device, int& err);
  int vfio_device_assign_container(vfio_device* device);
  void vfio_device_unassign_container(vfio_device* device);

  // container
  long container_open(Task& t, file*& f);
  int container_release(file& f);
  long container_ioctl(file& f, unsigned cmd, uint64_t arg);
  long check_extension(vfio_container* c, unsigned long arg);
  long set_iommu(vfio_container* c, unsigned long arg);
  int container_attach_group(vfio_container* c, vfio_group* g);
  void group_detach_container(vfio_group* g);
  void container_put(vfio_container* c);

  // device fd
  int device_release(file& f);
  long device_ioctl(file& f, unsigned cmd, uint64_t arg);
  long device_feature(vfio_device* device, uint64_t arg);  // vfio_ioctl_device_feature()
  long logging_start(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz);
  long logging_stop(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz);
  long logging_report(vfio_device* device, uint32_t flags, uint64_t arg, size_t argsz);

  IommuCore* iommu_;
  IommuGroups* fake_groups_;
  Vfs& vfs_;
  mutex group_lock_{"vfio.group_lock"};
  std::list<vfio_group*> group_list_;
  std::set<int> group_ida_;
  std::set<int> device_ida_;
  std::map<const void*, std::unique_ptr<vfio_device_set>> device_set_xa_;
  mutex iommu_drivers_lock_{"vfio.iommu_drivers_lock"};
  std::list<const vfio_iommu_driver_ops*> iommu_drivers_list_;
  size_t live_devices_ = 0;
  size_t live_containers_ = 0;
  std::set<vfio_group*> live_groups_;
  file_operations container_fops_, group_fops_, device_fops_;
  vfio_iommu_driver_ops noiommu_ops_;  // vfio_noiommu_ops (CONFIG_VFIO_NOIOMMU)
  bool driver_allowed(const vfio_container* c, const vfio_iommu_driver_ops* d) const;
};

template <typename T>
T* Vfio::vfio_alloc_device(struct device* dev, const vfio_device_ops* ops, int* err) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  static_assert(offsetof(T, vdev) == 0, "struct vfio_device must be the first member (vdev) of the driver's struct");
#pragma GCC diagnostic pop
  static_assert(std::is_same_v<decltype(T::vdev), vfio_device>, "vdev must be a struct vfio_device");
  T* t = new T();
  t->vdev.free_fn = [](vfio_device* d) { delete reinterpret_cast<T*>(d); };
  const int ret = vfio_init_device(&t->vdev, dev, ops);
  if (ret) {
    delete t;  // _vfio_alloc_device frees on init failure; ops->release is not called
    if (err) *err = ret;
    return nullptr;
  }
  ++live_devices_;
  if (err) *err = 0;
  return t;
}

}  // namespace vfiosim::kernel
