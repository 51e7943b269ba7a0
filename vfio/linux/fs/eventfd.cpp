#include "vfio/linux/fs/eventfd.h"

#include <cerrno>

namespace vfiosim::kernel {

namespace {
const file_operations& eventfd_fops() {
  static const file_operations fops = [] {
    file_operations f;
    f.name = "eventfd_fops";
    f.release = [](file& file) {
      eventfd_ctx_put(static_cast<eventfd_ctx*>(file.private_data));
      return 0;
    };
    f.read = [](file& file, uint64_t ubuf, uint64_t count, uint64_t) -> long {
      auto* ctx = static_cast<eventfd_ctx*>(file.private_data);
      if (count < 8) return -EINVAL;
      if (!ctx->count) return -EAGAIN;
      const uint64_t v = ctx->count;
      ctx->count = 0;
      Task* t = current();
      if (t && t->copy_to_user(ubuf, &v, 8)) return -EFAULT;
      return 8;
    };
    // eventfd_write(): adds the 8-byte value; ULLONG_MAX is not a valid increment. A count that
    // would overflow blocks in the kernel; here it fails as a non-blocking write does.
    f.write = [](file& file, uint64_t ubuf, uint64_t count, uint64_t) -> long {
      auto* ctx = static_cast<eventfd_ctx*>(file.private_data);
      if (count < 8) return -EINVAL;
      uint64_t v = 0;
      Task* t = current();
      if (!t || t->copy_from_user(&v, ubuf, 8)) return -EFAULT;
      if (v == ~0ULL) return -EINVAL;
      if (~0ULL - ctx->count <= v) return -EAGAIN;
      eventfd_signal(ctx, v);
      return 8;
    };
    return f;
  }();
  return fops;
}
}  // namespace

file* eventfd_file(uint64_t initval) {
  auto* ctx = new eventfd_ctx;
  kref_init(ctx->ref);
  ctx->count = initval;
  return alloc_file(&eventfd_fops(), ctx, "anon_inode:[eventfd]");
}

eventfd_ctx* eventfd_of(file* f) {
  return f && f->f_op == &eventfd_fops() ? static_cast<eventfd_ctx*>(f->private_data) : nullptr;
}

eventfd_ctx* eventfd_ctx_fdget(Task& t, int fd, int& err) {
  file* f = t.fget(fd);
  if (!f) {
    err = -EBADF;
    return nullptr;
  }
  eventfd_ctx* ctx = eventfd_of(f);
  if (ctx) kref_get(ctx->ref);
  fput(f);
  err = ctx ? 0 : -EINVAL;
  return ctx;
}

void eventfd_ctx_put(eventfd_ctx* ctx) {
  if (ctx) kref_put(ctx->ref, [ctx] { delete ctx; });
}

void eventfd_signal(eventfd_ctx* ctx, uint64_t n) {
  if (!ctx) return;
  ctx->count += n;
  ctx->signals += n;
  ctx->ev.notify(sc_core::SC_ZERO_TIME);
}

uint64_t eventfd_wait(eventfd_ctx* ctx, const sc_core::sc_time& timeout) {
  const sc_core::sc_time deadline = sc_core::sc_time_stamp() + timeout;
  while (!ctx->count) {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    if (now >= deadline) return 0;
    sc_core::wait(deadline - now, ctx->ev);
  }
  const uint64_t v = ctx->count;
  ctx->count = 0;
  return v;
}

}  // namespace vfiosim::kernel
