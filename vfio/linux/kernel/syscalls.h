// The system calls userspace makes into the simulated kernel (fs/open.c, fs/read_write.c,
// fs/ioctl.c, mm/mmap.c, fs/eventfd.c, kernel/exit.c of v6.1): each enters in the calling task
// (`current`), pays the syscall entry/exit cost, looks its descriptor up, calls the file's
// operation, and on the way out runs the task work (deferred file releases), as the return to
// userspace does. Scenario steps, tests and benches all come through here; arguments are user
// addresses in the task's address space (Task::alloc_arg for host-side buffers), so an external
// front-end can call the same functions with a client's arguments later.
// Not modelled: file modes and flags beyond O_CLOEXEC, signals interrupting a call, readv/writev.
#pragma once

#include <cstdint>
#include <string>

#include <systemc>

#include "vfio/linux/kernel/cpu_cost.h"
#include "vfio/linux/kernel/task.h"

namespace vfiosim::kernel {

// include/uapi/asm-generic/fcntl.h, mman-common.h (the values Linux uses on x86-64).
constexpr int SYS_O_CLOEXEC = 02000000;
constexpr int SYS_PROT_READ = 0x1;
constexpr int SYS_PROT_WRITE = 0x2;
constexpr int SYS_MAP_SHARED = 0x01;
constexpr int SYS_MAP_PRIVATE = 0x02;
constexpr int SYS_MAP_ANONYMOUS = 0x20;
constexpr int SYS_MAP_HUGETLB = 0x40000;
constexpr long MAX_RW_COUNT = 0x7ffff000L;  // INT_MAX & PAGE_MASK

class Syscalls {
 public:
  Syscalls(Vfs& vfs, CpuCosts& costs) : vfs_(vfs), costs_(costs) {}

  /// openat(AT_FDCWD, path, flags): a device node; the new descriptor or -ENOENT / the open's
  /// error / -EMFILE.
  long open(Task& t, const std::string& path, int flags = 0);
  /// close(): -EBADF for a descriptor that is not open.
  long close(Task& t, int fd);
  /// ioctl(): -EBADF, -ENOTTY without an ioctl operation, else the driver's answer.
  long ioctl(Task& t, int fd, unsigned cmd, uint64_t arg);
  /// read()/write() at the file's position (eventfds: the count as 8 bytes).
  long read(Task& t, int fd, uint64_t ubuf, uint64_t count);
  long write(Task& t, int fd, uint64_t ubuf, uint64_t count);
  /// pread64()/pwrite64(): -EINVAL for a negative position or a file without the operation,
  /// -EBADF; counts beyond MAX_RW_COUNT are clamped.
  long pread64(Task& t, int fd, uint64_t ubuf, uint64_t count, int64_t pos);
  long pwrite64(Task& t, int fd, uint64_t ubuf, uint64_t count, int64_t pos);
  /// mmap(): MAP_ANONYMOUS [| MAP_HUGETLB] memory, or a device file's mapping (its mmap decides);
  /// the address or -errno (-EINVAL for a zero length or neither MAP_SHARED nor MAP_PRIVATE,
  /// -EBADF, -ENOMEM).
  long mmap(Task& t, uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset);
  long munmap(Task& t, uint64_t addr, uint64_t len);
  /// eventfd2(initval, flags): a new eventfd descriptor or -EMFILE.
  long eventfd2(Task& t, unsigned initval, int flags);
  /// execve() of the same program: a new address space, FD_CLOEXEC descriptors closed. 0.
  long execve(Task& t);
  /// exit(): every descriptor closed in order, with the releases they start.
  void exit(Task& t);

  CpuCosts& costs() { return costs_; }

 private:
  long rw(Task& t, int fd, uint64_t ubuf, uint64_t count, uint64_t pos, bool write);

  Vfs& vfs_;
  CpuCosts& costs_;
};

/// The entry and exit of one system call in `t`: current is `t`, the entry cost is paid first,
/// and the task work runs when the scope ends.
class SyscallScope {
 public:
  SyscallScope(Task& t, CpuCosts& costs) : current_(t) { costs.charge(Cost::SyscallEntry); }

 private:
  CurrentScope current_;
};

}  // namespace vfiosim::kernel
