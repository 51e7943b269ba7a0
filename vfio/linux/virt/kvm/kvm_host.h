// struct kvm as VFIO sees it (include/linux/kvm_host.h): an opaque VM with its `kvm->lock` and a
// users count (kvm_get_kvm/kvm_put_kvm). VFIO stores the pointer a KVM-VFIO device hands it
// (vfio_file_set_kvm) and copies it into a device at first open; drivers such as vfio-ap take
// kvm->lock in open_device. The KVM side itself — vCPUs, memslots, the KVM-VFIO device's coherency
// tracking — is not modelled.
#pragma once

#include <string>

#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

struct kvm {
  explicit kvm(std::string vm_name = "vm") : name(std::move(vm_name)) {}
  std::string name;
  mutex lock{"kvm->lock"};
  refcount_t users_count{1};
};

}  // namespace vfiosim::kernel
