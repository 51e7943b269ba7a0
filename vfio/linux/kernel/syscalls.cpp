#include "vfio/linux/kernel/syscalls.h"

#include <cerrno>

#include "vfio/linux/fs/eventfd.h"

namespace vfiosim::kernel {

namespace {

// fdget() for the length of a call: the file with a reference, put at the end of the scope.
class fd_ref {
 public:
  fd_ref(Task& t, int fd) : f_(t.fget(fd)) {}
  ~fd_ref() {
    if (f_) fput(f_);
  }
  fd_ref(const fd_ref&) = delete;
  fd_ref& operator=(const fd_ref&) = delete;
  file* get() const { return f_; }

 private:
  file* f_;
};

uint64_t clamp_count(uint64_t count) { return count > MAX_RW_COUNT ? MAX_RW_COUNT : count; }

}  // namespace

// do_sys_openat2(): the node's open, then fd_install.
long Syscalls::open(Task& t, const std::string& path, int flags) {
  SyscallScope scope(t, costs_);
  (void)flags;  // O_CLOEXEC is the only flag with an effect here; nodes are opened O_RDWR
  return vfs_.open(t, path);
}

// close_fd()
long Syscalls::close(Task& t, int fd) {
  SyscallScope scope(t, costs_);
  return t.close_fd(fd);
}

// ksys_ioctl() -> vfs_ioctl(): -ENOTTY without unlocked_ioctl.
long Syscalls::ioctl(Task& t, int fd, unsigned cmd, uint64_t arg) {
  SyscallScope scope(t, costs_);
  fd_ref f(t, fd);
  if (!f.get()) return -EBADF;
  if (!f.get()->f_op || !f.get()->f_op->unlocked_ioctl) return -ENOTTY;
  return f.get()->f_op->unlocked_ioctl(*f.get(), cmd, arg);
}

// vfs_read() / vfs_write(): -EBADF for no such descriptor, -EINVAL for a file without the
// operation; counts beyond MAX_RW_COUNT are clamped.
long Syscalls::rw(Task& t, int fd, uint64_t ubuf, uint64_t count, uint64_t pos, bool write) {
  fd_ref f(t, fd);
  if (!f.get()) return -EBADF;
  const auto* op = f.get()->f_op ? (write ? &f.get()->f_op->write : &f.get()->f_op->read) : nullptr;
  if (!op || !*op) return -EINVAL;
  return (*op)(*f.get(), ubuf, clamp_count(count), pos);
}

// ksys_read() at position 0 (no file here keeps a position that matters).
long Syscalls::read(Task& t, int fd, uint64_t ubuf, uint64_t count) {
  SyscallScope scope(t, costs_);
  return rw(t, fd, ubuf, count, 0, false);
}

// ksys_write()
long Syscalls::write(Task& t, int fd, uint64_t ubuf, uint64_t count) {
  SyscallScope scope(t, costs_);
  return rw(t, fd, ubuf, count, 0, true);
}

// ksys_pread64(): a negative position is -EINVAL before the descriptor is looked at.
long Syscalls::pread64(Task& t, int fd, uint64_t ubuf, uint64_t count, int64_t pos) {
  SyscallScope scope(t, costs_);
  return pos < 0 ? -EINVAL : rw(t, fd, ubuf, count, static_cast<uint64_t>(pos), false);
}

// ksys_pwrite64()
long Syscalls::pwrite64(Task& t, int fd, uint64_t ubuf, uint64_t count, int64_t pos) {
  SyscallScope scope(t, costs_);
  return pos < 0 ? -EINVAL : rw(t, fd, ubuf, count, static_cast<uint64_t>(pos), true);
}

// ksys_mmap_pgoff() -> do_mmap(): the mapping type must be given; anonymous memory ignores the
// descriptor; a file mapping needs one.
long Syscalls::mmap(Task& t, uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset) {
  SyscallScope scope(t, costs_);
  (void)addr;  // no MAP_FIXED: the kernel picks the address
  (void)prot;  // mappings are read-write
  if (!len) return -EINVAL;
  const int type = flags & (SYS_MAP_SHARED | SYS_MAP_PRIVATE);
  if (type != SYS_MAP_SHARED && type != SYS_MAP_PRIVATE) return -EINVAL;
  if (flags & SYS_MAP_ANONYMOUS) {
    const uint64_t a = t.mmap_anonymous(len, (flags & SYS_MAP_HUGETLB) != 0);
    return a ? static_cast<long>(a) : -ENOMEM;
  }
  fd_ref f(t, fd);
  if (!f.get()) return -EBADF;
  return t.mmap_file(f.get(), len, offset, type == SYS_MAP_SHARED);
}

// __vm_munmap()
long Syscalls::munmap(Task& t, uint64_t addr, uint64_t len) {
  SyscallScope scope(t, costs_);
  return t.munmap(addr, len);
}

// do_eventfd()
long Syscalls::eventfd2(Task& t, unsigned initval, int flags) {
  SyscallScope scope(t, costs_);
  file* f = eventfd_file(initval);
  const int fd = t.install_fd(f, (flags & SYS_O_CLOEXEC) != 0);
  if (fd < 0) fput(f);
  return fd;
}

// do_execveat_common() -> begin_new_exec(): exec_mmap() and do_close_on_exec().
long Syscalls::execve(Task& t) {
  SyscallScope scope(t, costs_);
  t.exec();
  return 0;
}

// do_exit() -> exit_files(): the descriptors close; their releases run at once (no return to
// userspace follows).
void Syscalls::exit(Task& t) {
  CurrentScope scope(t);
  t.close_all();
}

}  // namespace vfiosim::kernel
