// eventfd (fs/eventfd.c): a counter file userspace waits on and the kernel signals. The context
// is reference counted apart from its file, so a driver holding it (a VFIO interrupt trigger) can
// still signal after userspace closed the descriptor. read() returns the count and resets it, or
// -EAGAIN when it is zero (non-blocking); `wait` blocks the calling simulated thread.
#pragma once

#include <cstdint>

#include <systemc>

#include "vfio/linux/kernel/task.h"

namespace vfiosim::kernel {

struct eventfd_ctx {
  kref ref;
  uint64_t count = 0;
  uint64_t signals = 0;  // total, for reports
  sc_core::sc_event ev;
};

/// eventfd(initval, 0): a new file (the caller's reference) and its context.
file* eventfd_file(uint64_t initval);
/// eventfd_ctx_fdget(): the context behind `fd` with a reference, or nullptr with -EBADF (no such
/// descriptor) or -EINVAL (not an eventfd) in `err`.
eventfd_ctx* eventfd_ctx_fdget(Task& t, int fd, int& err);
void eventfd_ctx_put(eventfd_ctx* ctx);
void eventfd_signal(eventfd_ctx* ctx, uint64_t n = 1);
/// Blocks until the count is non-zero or `timeout` passes; returns the count (0 on timeout),
/// consuming it as read() would.
uint64_t eventfd_wait(eventfd_ctx* ctx, const sc_core::sc_time& timeout);
/// The context of an eventfd file, or nullptr.
eventfd_ctx* eventfd_of(file* f);

}  // namespace vfiosim::kernel
