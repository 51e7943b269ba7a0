// The system-call layer (vfio/linux/kernel/syscalls.h): the order of its checks and its errnos,
// the entry cost every call pays, releases deferred to the return to userspace, mmap's flag
// rules, eventfd read/write, and exit closing everything.
#include <cstring>

#include "tests/kernel/task_machine.h"
#include "vfio/linux/kernel/cpu_cost.h"
#include "vfio/linux/fs/eventfd.h"
#include "vfio/linux/kernel/syscalls.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::task_test;

namespace {

struct SysMachine : Machine {
  CpuCosts costs{1000, {}, root};  // 1 GHz: one cycle per ns
  Vfs vfs;
  Syscalls sys{vfs, costs};
  Task t{1, "proc", *cpu, pages};
};

}  // namespace

TEST(Syscalls, ErrnosFollowTheKernelsOrderOfChecks) {
  SysMachine m;
  LoggingFops fops;  // no read, write or ioctl operations
  sctest::run_in_thread([&] {
    const int fd = m.t.install_fd(fops.make("plain"), false);
    const uint64_t buf = m.t.alloc_arg("\0\0\0\0\0\0\0\0", 8);
    EXPECT_EQ(m.sys.pread64(m.t, 99, buf, 8, -1), -EINVAL);  // the position first
    EXPECT_EQ(m.sys.pread64(m.t, 99, buf, 8, 0), -EBADF);
    EXPECT_EQ(m.sys.pread64(m.t, fd, buf, 8, 0), -EINVAL);   // no read operation
    EXPECT_EQ(m.sys.pwrite64(m.t, fd, buf, 8, -4096), -EINVAL);
    EXPECT_EQ(m.sys.pwrite64(m.t, fd, buf, 8, 0), -EINVAL);
    EXPECT_EQ(m.sys.ioctl(m.t, 99, 0, 0), -EBADF);
    EXPECT_EQ(m.sys.ioctl(m.t, fd, 0, 0), -ENOTTY);
    EXPECT_EQ(m.sys.read(m.t, fd, buf, 8), -EINVAL);
    EXPECT_EQ(m.sys.open(m.t, "/dev/nothing"), -ENOENT);
    EXPECT_EQ(m.sys.close(m.t, fd), 0);
    EXPECT_EQ(m.sys.close(m.t, fd), -EBADF);
  });
}

TEST(Syscalls, EveryCallPaysTheEntryCost) {
  SysMachine m;
  const uint64_t entry = m.costs.cycles(Cost::SyscallEntry);
  ASSERT_GT(entry, 0u);
  const sc_core::sc_time end = sctest::run_in_thread([&] {
    m.sys.close(m.t, 5);
    m.sys.ioctl(m.t, 5, 0, 0);
    m.sys.pread64(m.t, 5, 0, 8, -1);  // failing early still entered the kernel
  });
  EXPECT_EQ(end, sc_core::sc_time(static_cast<double>(3 * entry), sc_core::SC_NS));
  EXPECT_EQ(m.costs.charged_cycles(), 3 * entry);
}

// A file whose last reference goes inside a call is released when the call returns, not under
// the caller's feet.
TEST(Syscalls, AReleaseStartedInACallRunsOnTheWayOut) {
  SysMachine m;
  LoggingFops fops;
  size_t released_inside = 99;
  fops.ops.unlocked_ioctl = [&](file&, unsigned cmd, uint64_t) -> long {
    EXPECT_EQ(current(), &m.t);
    EXPECT_EQ(m.t.close_fd(static_cast<int>(cmd)), 0);  // the descriptor's reference goes
    released_inside = fops.released.size();
    return 7;
  };
  sctest::run_in_thread([&] {
    const int fd = m.t.install_fd(fops.make("self-closing"), false);
    EXPECT_EQ(m.sys.ioctl(m.t, fd, static_cast<unsigned>(fd), 0), 7);
  });
  EXPECT_EQ(released_inside, 0u);  // the call still held its fdget reference
  EXPECT_EQ(fops.released, std::vector<std::string>{"self-closing"});
  EXPECT_EQ(current(), nullptr);
}

TEST(Syscalls, MmapNeedsALengthAndAMappingType) {
  SysMachine m;
  sctest::run_in_thread([&] {
    const int anon = SYS_MAP_PRIVATE | SYS_MAP_ANONYMOUS;
    EXPECT_EQ(m.sys.mmap(m.t, 0, 0, SYS_PROT_READ, anon, -1, 0), -EINVAL);
    EXPECT_EQ(m.sys.mmap(m.t, 0, 4096, SYS_PROT_READ, SYS_MAP_ANONYMOUS, -1, 0), -EINVAL);
    EXPECT_EQ(m.sys.mmap(m.t, 0, 4096, SYS_PROT_READ, SYS_MAP_SHARED | SYS_MAP_PRIVATE, -1, 0), -EINVAL);
    EXPECT_EQ(m.sys.mmap(m.t, 0, 4096, SYS_PROT_READ, SYS_MAP_SHARED, 42, 0), -EBADF);
    const long a = m.sys.mmap(m.t, 0, 3 * kPage, SYS_PROT_READ | SYS_PROT_WRITE, anon, -1, 0);
    ASSERT_GT(a, 0);
    EXPECT_NE(m.t.user_phys(static_cast<uint64_t>(a)), 0u);
    EXPECT_EQ(m.sys.munmap(m.t, static_cast<uint64_t>(a), kPage), -EINVAL);  // not the whole area
    EXPECT_EQ(m.sys.munmap(m.t, static_cast<uint64_t>(a), 3 * kPage), 0);
    const long h = m.sys.mmap(m.t, 0, kHuge, SYS_PROT_READ, anon | SYS_MAP_HUGETLB, -1, 0);
    ASSERT_GT(h, 0);
    EXPECT_TRUE(is_aligned(m.t.user_phys(static_cast<uint64_t>(h)), kHuge));
  });
}

TEST(Syscalls, EventfdWriteAddsAndReadConsumes) {
  SysMachine m;
  sctest::run_in_thread([&] {
    const long fd = m.sys.eventfd2(m.t, 2, SYS_O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(m.t.fd_cloexec(static_cast<int>(fd)));
    const uint64_t three = 3, max = ~0ULL;
    EXPECT_EQ(m.sys.write(m.t, static_cast<int>(fd), m.t.alloc_arg(&three, 8), 8), 8);
    EXPECT_EQ(m.sys.write(m.t, static_cast<int>(fd), m.t.alloc_arg(&three, 8), 4), -EINVAL);
    EXPECT_EQ(m.sys.write(m.t, static_cast<int>(fd), m.t.alloc_arg(&max, 8), 8), -EINVAL);
    const uint64_t out = m.t.alloc_arg(&max, 8);
    EXPECT_EQ(m.sys.read(m.t, static_cast<int>(fd), out, 8), 8);
    uint64_t v = 0;
    ASSERT_EQ(m.t.copy_from_user(&v, out, 8), 0);
    EXPECT_EQ(v, 5u);
    EXPECT_EQ(m.sys.read(m.t, static_cast<int>(fd), out, 8), -EAGAIN);
  });
}

TEST(Syscalls, ExitClosesEveryDescriptorAndExecOnlyCloexecOnes) {
  SysMachine m;
  LoggingFops fops;
  m.vfs.add_node("/dev/a", [&](Task&, file*& f) -> long {
    f = fops.make("a");
    return 0;
  });
  sctest::run_in_thread([&] {
    const long a = m.sys.open(m.t, "/dev/a");
    ASSERT_EQ(a, 0);
    const long e = m.sys.eventfd2(m.t, 0, SYS_O_CLOEXEC);
    ASSERT_EQ(e, 1);
    EXPECT_EQ(m.sys.execve(m.t), 0);
    EXPECT_EQ(m.t.open_fds(), 1u);  // the eventfd went with the exec
    EXPECT_TRUE(fops.released.empty());
    m.sys.exit(m.t);
    EXPECT_EQ(m.t.open_fds(), 0u);
    EXPECT_EQ(fops.released, std::vector<std::string>{"a"});
  });
}
