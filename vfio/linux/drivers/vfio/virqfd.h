// virqfd (drivers/vfio/virqfd.c): an eventfd the kernel polls on behalf of a VFIO driver. When
// userspace (or KVM's resampler) signals it, the count is consumed and `handler` runs; a non-zero
// handler result runs `thread` (the kernel's workqueue injection). vfio-pci uses it for the INTx
// UNMASK eventfd: handler = vfio_pci_intx_unmask_handler, thread = vfio_send_intx_eventfd.
// The poll is a simulated thread waiting on the eventfd; disabling it wakes and ends that thread
// and drops the eventfd reference. Not modelled: the EPOLLHUP teardown when the eventfd's last
// file reference goes (the context stays alive while the virqfd holds it).
#pragma once

#include <functional>
#include <memory>

#include <systemc>

#include "vfio/linux/fs/eventfd.h"

namespace vfiosim::kernel {

struct virqfd {
  eventfd_ctx* eventfd = nullptr;
  std::function<int()> handler;
  std::function<void()> thread;
  bool shutdown = false;
  sc_core::sc_event kill;
  uint64_t handled = 0;  // wakeups that ran the handler
};

/// vfio_virqfd_enable(): -EBUSY when `*pvirqfd` is already set; -EBADF / -EINVAL for a bad fd.
int vfio_virqfd_enable(Task& t, int fd, std::function<int()> handler, std::function<void()> thread,
                       std::shared_ptr<virqfd>& pvirqfd);
/// vfio_virqfd_disable(): stops polling (no-op when none is set).
void vfio_virqfd_disable(std::shared_ptr<virqfd>& pvirqfd);

}  // namespace vfiosim::kernel
