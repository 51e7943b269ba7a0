#include "vfio/linux/drivers/vfio/virqfd.h"

#include <cerrno>

namespace vfiosim::kernel {

int vfio_virqfd_enable(Task& t, int fd, std::function<int()> handler, std::function<void()> thread,
                       std::shared_ptr<virqfd>& pvirqfd) {
  int err = 0;
  eventfd_ctx* ctx = eventfd_ctx_fdget(t, fd, err);
  if (!ctx) return err;
  if (pvirqfd) {
    eventfd_ctx_put(ctx);
    return -EBUSY;
  }
  auto v = std::make_shared<virqfd>();
  v->eventfd = ctx;
  v->handler = std::move(handler);
  v->thread = std::move(thread);
  pvirqfd = v;
  sc_core::sc_spawn(
      [v] {
        // An event pending before we registered is handled as if we had seen it (the count is
        // left for the next wakeup to consume, as vfs_poll() leaves it).
        if (v->eventfd->count && (!v->handler || v->handler()) && v->thread) v->thread();
        for (;;) {
          sc_core::wait(v->eventfd->ev | v->kill);  // virqfd_wakeup(EPOLLIN)
          if (v->shutdown) break;
          if (!v->eventfd->count) continue;
          v->eventfd->count = 0;  // eventfd_ctx_do_read()
          ++v->handled;
          if ((!v->handler || v->handler()) && v->thread) v->thread();
        }
        eventfd_ctx_put(v->eventfd);  // virqfd_shutdown()
        v->eventfd = nullptr;
      },
      sc_core::sc_gen_unique_name("vfio_virqfd"));
  return 0;
}

void vfio_virqfd_disable(std::shared_ptr<virqfd>& pvirqfd) {
  if (!pvirqfd) return;
  pvirqfd->shutdown = true;
  pvirqfd->kill.notify(sc_core::SC_ZERO_TIME);
  pvirqfd.reset();
}

}  // namespace vfiosim::kernel
