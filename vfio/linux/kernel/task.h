// Simulated userspace processes as the kernel sees them: struct file with its file_operations
// and reference count (fget/fput, release on the last put), a files_struct of file descriptors
// (lowest free number, RLIMIT_NOFILE, FD_CLOEXEC), credentials (CAP_IPC_LOCK, CAP_SYS_RAWIO),
// RLIMIT_MEMLOCK and mm->locked_vm, and an address space of VMAs: anonymous memory backed by
// 4 KiB pages or 2 MiB hugetlb pages of simulated host memory (what MAP_DMA pins), and
// host-backed areas for syscall arguments. copy_from_user/copy_to_user fault (-EFAULT) on
// addresses no VMA covers. The device nodes (/dev/vfio/...) live in `Vfs`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "models/cpu/host_port.h"
#include "vfio/linux/kernel/sync.h"

namespace vfiosim::kernel {

struct file;

struct file_operations {
  std::string name;
  std::function<int(file&)> release;
  std::function<long(file&, unsigned cmd, uint64_t arg)> unlocked_ioctl;
  std::function<long(file&, uint64_t ubuf, uint64_t count, uint64_t pos)> read;   // pread semantics
  std::function<long(file&, uint64_t ubuf, uint64_t count, uint64_t pos)> write;  // pwrite semantics
  std::function<int(file&, struct vm_area&)> mmap;  // sets the area's I/O target or returns -errno
};

struct file {
  kref ref;
  const file_operations* f_op = nullptr;
  void* private_data = nullptr;
  std::string path;  // what was opened ("/dev/vfio/vfio", "[vfio-device]")
};

/// Allocates a file with one reference (the caller's).
file* alloc_file(const file_operations* fops, void* private_data, std::string path);
void get_file(file* f);
/// Drops a reference; the last one runs f_op->release and frees the file — at once outside a
/// system call, at the return to userspace inside one (Task::task_work_run).
void fput(file* f);
/// Files alive now (for the leak check).
size_t live_files();

/// Physical 4 KiB pages for userspace memory, from a region of host memory.
class UserPageAllocator {
 public:
  UserPageAllocator(uint64_t base, uint64_t size) : base_(base), size_(size) {}
  /// `count` pages; each run of `contiguous` pages is physically contiguous and aligned to its
  /// size (2 MiB runs for hugetlb). Returns the physical address of each 4 KiB page, or empty.
  std::vector<uint64_t> alloc(uint64_t count, uint64_t contiguous);
  void free(const std::vector<uint64_t>& pages);
  uint64_t in_use() const { return used_.size(); }

 private:
  uint64_t base_, size_;
  uint64_t next_ = 0;
  std::set<uint64_t> free_;
  std::set<uint64_t> used_;
};

struct vm_area {
  uint64_t start = 0, end = 0;   // [start, end)
  bool hugetlb = false;
  bool host = false;             // syscall-argument area: bytes kept here, not in simulated memory
  std::vector<uint8_t> bytes;    // host areas
  std::vector<uint64_t> pages;   // physical address per 4 KiB page (anonymous / hugetlb)
  // A file mapping (mmap of a device fd): VM_IO | VM_PFNMAP onto bus addresses from `io_phys`.
  uint64_t vm_pgoff = 0;         // the offset asked for, in pages (the driver decodes it)
  bool shared = false;           // MAP_SHARED
  file* vm_file = nullptr;       // holds a reference while mapped
  bool io = false;
  uint64_t io_phys = 0;
  /// The fault handler's verdict: false means the access gets SIGBUS (vfio-pci: memory decode off).
  std::function<bool()> io_ok;
};

/// The part of struct mm_struct VFIO holds on to: mm->locked_vm and whether the address space
/// still has users (mm_users; an mmgrab() reference keeps the struct, not the address space).
/// exec() gives a task a new one; pages the old address space had stay allocated until the last
/// reference to its mm_struct goes (a pinned page outlives its mapping).
struct mm_struct {
  explicit mm_struct(UserPageAllocator* allocator) : pages(allocator) {}
  ~mm_struct();
  mm_struct(const mm_struct&) = delete;
  mm_struct& operator=(const mm_struct&) = delete;
  uint64_t locked_vm = 0;  // pages
  int mm_users = 1;        // 0 once the address space is torn down (exec, exit)
  UserPageAllocator* pages;
  std::vector<uint64_t> retired;  // the torn-down address space's pages
};

/// How a user load or store ended.
enum class UserAccess { Ok, Segv, Bus };

enum Cap { CAP_IPC_LOCK = 14, CAP_SYS_RAWIO = 17 };

class Task {
 public:
  Task(int pid, std::string comm, HostPort& cpu, UserPageAllocator& pages);
  ~Task();

  int pid() const { return pid_; }
  const std::string& comm() const { return comm_; }

  // Credentials and limits
  bool capable(Cap c) const { return caps_.count(c) != 0; }
  void set_cap(Cap c, bool on) { if (on) caps_.insert(c); else caps_.erase(c); }
  uint64_t rlimit_memlock = 64ULL << 20;  // bytes (RLIMIT_MEMLOCK soft limit)
  unsigned rlimit_nofile = 1024;
  /// current->mm, and mmgrab() of it (a reference to the struct that outlives an exec).
  mm_struct* mm() const { return mm_.get(); }
  std::shared_ptr<mm_struct> mmgrab() const { return mm_; }

  // File descriptors
  /// get_unused_fd_flags() + fd_install(); -EMFILE when the table is full.
  int install_fd(file* f, bool cloexec);
  /// fget(): a new reference, or nullptr (-EBADF) for a closed number.
  file* fget(int fd);
  /// close(): -EBADF for a closed number.
  int close_fd(int fd);
  bool fd_cloexec(int fd) const;
  /// Closes every descriptor in order (exit).
  void close_all();
  /// execve(): descriptors marked FD_CLOEXEC close, the address space is replaced by an empty one
  /// with locked_vm 0 (the old one loses its users), credentials and limits stay.
  void exec();
  size_t open_fds() const { return fds_.size(); }

  // Address space
  /// mmap(MAP_ANONYMOUS [| MAP_HUGETLB]); 0 on failure (-ENOMEM).
  uint64_t mmap_anonymous(uint64_t len, bool hugetlb);
  int munmap(uint64_t addr, uint64_t len);
  /// mmap(NULL, len, ..., MAP_SHARED or MAP_PRIVATE, fd's file, offset): the address or -errno
  /// (-ENODEV when the file cannot be mapped, else the driver's answer).
  long mmap_file(file* f, uint64_t len, uint64_t offset, bool shared);
  /// A load or store by the process itself: through the CPU to memory or, for an I/O mapping,
  /// to the device (SIGBUS when its fault handler refuses, SIGSEGV with no mapping).
  UserAccess user_access(uint64_t uaddr, void* buf, unsigned len, bool write);
  /// A host-backed area holding `len` bytes (syscall arguments); returns its user address.
  uint64_t alloc_arg(const void* data, uint64_t len);
  int copy_from_user(void* dst, uint64_t uaddr, uint64_t len);
  int copy_to_user(uint64_t uaddr, const void* src, uint64_t len);
  /// Reads a NUL-terminated string of at most `max` bytes (strndup_user): -EFAULT, -EINVAL.
  int strndup_user(uint64_t uaddr, uint64_t max, std::string& out);
  /// The physical address behind a user address of anonymous memory, or 0.
  uint64_t user_phys(uint64_t uaddr) const;
  /// pin_user_pages(): physical addresses of `npages` pages from `vaddr`; -EFAULT if any page
  /// is not backed by anonymous memory. (Pinning itself is bookkeeping: pages never move here.)
  int pin_user_pages(uint64_t vaddr, uint64_t npages, std::vector<uint64_t>& out);
  const vm_area* find_vma(uint64_t addr) const;

  /// task_work: releases of files whose last reference went in a system call run when the call
  /// returns to userspace (as __fput does), so a release never runs under the caller's locks.
  void defer_release(std::function<void()> fn) { task_work_.push_back(std::move(fn)); }
  void task_work_run();

 private:
  vm_area* vma_at(uint64_t addr);

  int pid_;
  std::string comm_;
  HostPort& cpu_;
  UserPageAllocator& pages_;
  std::set<Cap> caps_;
  std::map<int, std::pair<file*, bool>> fds_;  // fd -> (file, cloexec)
  std::map<uint64_t, vm_area> vmas_;           // by start
  std::shared_ptr<mm_struct> mm_;
  uint64_t mmap_base_ = 0x7f0000000000ULL;     // grows down
  uint64_t arg_next_ = 0x7ffe00000000ULL;      // argument areas grow up
  std::vector<std::function<void()>> task_work_;
};

/// `current`: the task whose system call the calling simulated thread is executing.
Task* current();
/// Makes `t` current for the calling thread for the scope (a system call's entry and exit).
class CurrentScope {
 public:
  explicit CurrentScope(Task& t);
  ~CurrentScope();
  CurrentScope(const CurrentScope&) = delete;
  CurrentScope& operator=(const CurrentScope&) = delete;

 private:
  const void* thread_;
  Task* previous_;
};

/// The character-device nodes userspace can open (devtmpfs): path -> open function, which
/// returns a file (with the caller's reference) or a negative errno.
class Vfs {
 public:
  using Opener = std::function<long(Task&, file*&)>;
  void add_node(const std::string& path, Opener open) { nodes_[path] = std::move(open); }
  void remove_node(const std::string& path) { nodes_.erase(path); }
  bool exists(const std::string& path) const { return nodes_.count(path) != 0; }
  std::vector<std::string> list(const std::string& dir) const;
  /// open(path, O_RDWR): the new fd or -ENOENT / the opener's error / -EMFILE.
  int open(Task& t, const std::string& path);

 private:
  std::map<std::string, Opener> nodes_;
};

}  // namespace vfiosim::kernel
