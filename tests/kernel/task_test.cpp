// Simulated userspace processes: struct file reference counting (fget/fput, release once on the
// last put), the fd table (lowest free number, RLIMIT_NOFILE, FD_CLOEXEC, close_all order),
// credentials, `current` per SystemC thread, and the device-node Vfs.
#include "tests/kernel/task_machine.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::task_test;

// ---- struct file and the fd table ----

TEST(TaskFiles, LowestFreeNumberIsReusedAfterClose) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  EXPECT_EQ(t.install_fd(fops.make("a"), false), 0);
  EXPECT_EQ(t.install_fd(fops.make("b"), false), 1);
  EXPECT_EQ(t.install_fd(fops.make("c"), false), 2);
  EXPECT_EQ(t.install_fd(fops.make("d"), false), 3);
  EXPECT_EQ(t.close_fd(1), 0);
  EXPECT_EQ(t.close_fd(2), 0);
  EXPECT_EQ(t.open_fds(), 2u);
  EXPECT_EQ(t.install_fd(fops.make("e"), false), 1);  // lowest free, not the last closed
  EXPECT_EQ(t.install_fd(fops.make("f"), false), 2);
  EXPECT_EQ(t.install_fd(fops.make("g"), false), 4);
  file* f = t.fget(1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, "e");
  fput(f);
  t.close_all();
}

TEST(TaskFiles, InstallFailsWithEmfileAtRlimitNofile) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  t.rlimit_nofile = 3;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.install_fd(fops.make("f" + std::to_string(i)), false), i);
  const size_t live = live_files();
  file* extra = fops.make("extra");
  EXPECT_EQ(t.install_fd(extra, false), -EMFILE);
  EXPECT_EQ(t.open_fds(), 3u);
  EXPECT_EQ(live_files(), live + 1);  // the caller still owns its reference
  EXPECT_TRUE(fops.released.empty());
  fput(extra);
  EXPECT_EQ(fops.released, std::vector<std::string>{"extra"});
  EXPECT_EQ(t.close_fd(0), 0);  // a free number below the limit makes room again
  EXPECT_EQ(t.install_fd(fops.make("again"), false), 0);
  t.close_all();
}

TEST(TaskFiles, DoubleCloseIsEbadf) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  const int fd = t.install_fd(fops.make("a"), false);
  ASSERT_EQ(fd, 0);
  EXPECT_EQ(t.close_fd(fd), 0);
  EXPECT_EQ(t.close_fd(fd), -EBADF);
  EXPECT_EQ(t.close_fd(7), -EBADF);
  EXPECT_EQ(t.fget(fd), nullptr);
  EXPECT_EQ(fops.released.size(), 1u);  // the second close released nothing
}

TEST(TaskFiles, FgetKeepsAFileClosedByFdAliveUntilFput) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  const size_t base = live_files();
  file* orig = fops.make("/dev/thing");
  EXPECT_EQ(live_files(), base + 1);
  const int fd = t.install_fd(orig, false);
  ASSERT_GE(fd, 0);
  file* f = t.fget(fd);
  ASSERT_EQ(f, orig);
  EXPECT_EQ(kref_read(f->ref), 2u);
  EXPECT_EQ(t.close_fd(fd), 0);
  EXPECT_TRUE(fops.released.empty());  // our reference keeps it
  EXPECT_EQ(live_files(), base + 1);
  EXPECT_EQ(kref_read(f->ref), 1u);
  EXPECT_EQ(f->path, "/dev/thing");
  fput(f);
  EXPECT_EQ(fops.released, std::vector<std::string>{"/dev/thing"});
  EXPECT_EQ(live_files(), base);
}

TEST(TaskFiles, ReleaseRunsExactlyOnceOnTheLastFput) {
  LoggingFops fops;
  const size_t base = live_files();
  int seen_private = 0;
  int tag = 42;
  fops.ops.release = [&](file& f) {
    seen_private = *static_cast<int*>(f.private_data);
    fops.released.push_back(f.path);
    return 0;
  };
  file* f = alloc_file(&fops.ops, &tag, "x");
  EXPECT_EQ(kref_read(f->ref), 1u);
  get_file(f);
  get_file(f);
  EXPECT_EQ(kref_read(f->ref), 3u);
  fput(f);
  fput(f);
  EXPECT_TRUE(fops.released.empty());
  EXPECT_EQ(live_files(), base + 1);
  fput(f);
  EXPECT_EQ(fops.released.size(), 1u);
  EXPECT_EQ(seen_private, 42);
  EXPECT_EQ(live_files(), base);
  fput(nullptr);  // harmless
  EXPECT_EQ(fops.released.size(), 1u);
  EXPECT_EQ(live_files(), base);
}

TEST(TaskFiles, LiveFilesCountsAllocationsAndFrees) {
  const size_t base = live_files();
  file_operations none;  // no release callback
  file* a = alloc_file(&none, nullptr, "a");
  file* b = alloc_file(&none, nullptr, "b");
  file* c = alloc_file(nullptr, nullptr, "c");  // no f_op at all
  EXPECT_EQ(live_files(), base + 3);
  fput(b);
  EXPECT_EQ(live_files(), base + 2);
  fput(a);
  fput(c);
  EXPECT_EQ(live_files(), base);
}

TEST(TaskFiles, CloexecFlagIsKeptPerFd) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  ASSERT_EQ(t.install_fd(fops.make("a"), true), 0);
  ASSERT_EQ(t.install_fd(fops.make("b"), false), 1);
  ASSERT_EQ(t.install_fd(fops.make("c"), true), 2);
  EXPECT_TRUE(t.fd_cloexec(0));
  EXPECT_FALSE(t.fd_cloexec(1));
  EXPECT_TRUE(t.fd_cloexec(2));
  EXPECT_FALSE(t.fd_cloexec(3));  // not open
  ASSERT_EQ(t.close_fd(0), 0);
  EXPECT_FALSE(t.fd_cloexec(0));
  ASSERT_EQ(t.install_fd(fops.make("d"), false), 0);  // the number's new file has its own flag
  EXPECT_FALSE(t.fd_cloexec(0));
  ASSERT_EQ(t.close_fd(1), 0);
  ASSERT_EQ(t.install_fd(fops.make("e"), true), 1);
  EXPECT_TRUE(t.fd_cloexec(1));
  t.close_all();
}

TEST(TaskFiles, CloseAllClosesEveryFdInOrder) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  const size_t base = live_files();
  ASSERT_EQ(t.install_fd(fops.make("a"), false), 0);
  ASSERT_EQ(t.install_fd(fops.make("b"), true), 1);
  ASSERT_EQ(t.install_fd(fops.make("c"), false), 2);
  ASSERT_EQ(t.close_fd(0), 0);
  ASSERT_EQ(t.install_fd(fops.make("d"), false), 0);  // installed last, but fd 0
  file* held = t.fget(2);                             // survives close_all
  fops.released.clear();
  t.close_all();
  EXPECT_EQ(fops.released, (std::vector<std::string>{"d", "b"}));
  EXPECT_EQ(t.open_fds(), 0u);
  EXPECT_EQ(live_files(), base + 1);
  fput(held);
  EXPECT_EQ(fops.released, (std::vector<std::string>{"d", "b", "c"}));
  EXPECT_EQ(live_files(), base);
  EXPECT_EQ(t.install_fd(fops.make("e"), false), 0);  // the table starts over
  t.close_all();
}

// ---- credentials ----

TEST(TaskCreds, CapabilitiesSetAndClear) {
  Machine m;
  Task t(7, "qemu", *m.cpu, m.pages);
  EXPECT_EQ(t.pid(), 7);
  EXPECT_EQ(t.comm(), "qemu");
  EXPECT_FALSE(t.capable(CAP_IPC_LOCK));
  EXPECT_FALSE(t.capable(CAP_SYS_RAWIO));
  t.set_cap(CAP_IPC_LOCK, true);
  EXPECT_TRUE(t.capable(CAP_IPC_LOCK));
  EXPECT_FALSE(t.capable(CAP_SYS_RAWIO));
  t.set_cap(CAP_SYS_RAWIO, true);
  t.set_cap(CAP_IPC_LOCK, false);
  EXPECT_FALSE(t.capable(CAP_IPC_LOCK));
  EXPECT_TRUE(t.capable(CAP_SYS_RAWIO));
  t.set_cap(CAP_IPC_LOCK, false);  // clearing a capability not held is a no-op
  EXPECT_FALSE(t.capable(CAP_IPC_LOCK));
  t.set_cap(CAP_SYS_RAWIO, false);
  EXPECT_FALSE(t.capable(CAP_SYS_RAWIO));
}

// ---- current ----

TEST(TaskCurrent, InnermostScopeOfTheThreadAndNullptrOutside) {
  Machine m;
  Task outer(1, "outer", *m.cpu, m.pages);
  Task inner(2, "inner", *m.cpu, m.pages);
  EXPECT_EQ(current(), nullptr);
  std::vector<Task*> seen;
  sctest::run_in_thread([&] {
    seen.push_back(current());
    {
      CurrentScope a(outer);
      seen.push_back(current());
      {
        CurrentScope b(inner);
        seen.push_back(current());
        sc_core::wait(10, sc_core::SC_NS);  // survives a wait
        seen.push_back(current());
      }
      seen.push_back(current());
    }
    seen.push_back(current());
  });
  EXPECT_EQ(seen, (std::vector<Task*>{nullptr, &outer, &inner, &inner, &outer, nullptr}));
  EXPECT_EQ(current(), nullptr);
}

TEST(TaskCurrent, EachThreadSeesItsOwnTask) {
  Machine m;
  Task ta(1, "a", *m.cpu, m.pages);
  Task tb(2, "b", *m.cpu, m.pages);
  std::vector<Task*> a_seen, b_seen, c_seen;
  sc_core::sc_spawn(
      [&] {
        CurrentScope s(ta);
        a_seen.push_back(current());
        sc_core::wait(10, sc_core::SC_NS);  // b enters its scope meanwhile
        a_seen.push_back(current());
        sc_core::wait(20, sc_core::SC_NS);  // b has left its scope
        a_seen.push_back(current());
      },
      "thread_a");
  sc_core::sc_spawn(
      [&] {
        sc_core::wait(5, sc_core::SC_NS);
        {
          CurrentScope s(tb);
          b_seen.push_back(current());
          sc_core::wait(10, sc_core::SC_NS);
          b_seen.push_back(current());
        }
        b_seen.push_back(current());
      },
      "thread_b");
  sc_core::sc_spawn(
      [&] {
        sc_core::wait(12, sc_core::SC_NS);  // both a and b are in their scopes
        c_seen.push_back(current());
      },
      "thread_c");
  sc_core::sc_start();
  EXPECT_EQ(a_seen, (std::vector<Task*>{&ta, &ta, &ta}));
  EXPECT_EQ(b_seen, (std::vector<Task*>{&tb, &tb, nullptr}));
  EXPECT_EQ(c_seen, (std::vector<Task*>{nullptr}));
}

// ---- Vfs ----

TEST(TaskVfs, OpenUnknownPathIsEnoent) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  Vfs vfs;
  int calls = 0;
  vfs.add_node("/dev/vfio/vfio", [&](Task&, file*& f) {
    ++calls;
    f = alloc_file(nullptr, nullptr, "/dev/vfio/vfio");
    return 0L;
  });
  const size_t base = live_files();
  EXPECT_EQ(vfs.open(t, "/dev/vfio/1"), -ENOENT);
  EXPECT_EQ(vfs.open(t, "/dev/vfio"), -ENOENT);
  EXPECT_EQ(vfs.open(t, "/dev/vfio/vfio/"), -ENOENT);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(t.open_fds(), 0u);
  EXPECT_EQ(live_files(), base);
  EXPECT_TRUE(vfs.exists("/dev/vfio/vfio"));
  EXPECT_FALSE(vfs.exists("/dev/vfio/1"));
}

TEST(TaskVfs, OpenPassesTheOpenersErrorThrough) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  Vfs vfs;
  vfs.add_node("/dev/vfio/3", [](Task&, file*&) { return static_cast<long>(-EBUSY); });
  vfs.add_node("/dev/vfio/4", [](Task&, file*&) { return static_cast<long>(-EPERM); });
  const size_t base = live_files();
  EXPECT_EQ(vfs.open(t, "/dev/vfio/3"), -EBUSY);
  EXPECT_EQ(vfs.open(t, "/dev/vfio/4"), -EPERM);
  EXPECT_EQ(t.open_fds(), 0u);
  EXPECT_EQ(live_files(), base);
}

TEST(TaskVfs, OpenInstallsTheOpenersFile) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  Task other(2, "other", *m.cpu, m.pages);
  LoggingFops fops;
  Vfs vfs;
  Task* opener_saw = nullptr;
  int priv = 0;
  vfs.add_node("/dev/vfio/vfio", [&](Task& tk, file*& f) {
    opener_saw = &tk;
    f = alloc_file(&fops.ops, &priv, "/dev/vfio/vfio");
    return 0L;
  });
  LoggingFops dummy;
  ASSERT_EQ(t.install_fd(dummy.make("stdin"), false), 0);
  const int fd = vfs.open(t, "/dev/vfio/vfio");
  EXPECT_EQ(fd, 1);
  EXPECT_EQ(opener_saw, &t);
  EXPECT_FALSE(t.fd_cloexec(fd));
  file* f = t.fget(fd);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path, "/dev/vfio/vfio");
  EXPECT_EQ(f->f_op, &fops.ops);
  EXPECT_EQ(f->private_data, &priv);
  EXPECT_EQ(kref_read(f->ref), 2u);  // the fd's and ours
  fput(f);
  EXPECT_EQ(vfs.open(other, "/dev/vfio/vfio"), 0);  // the other task's own table
  EXPECT_EQ(opener_saw, &other);
  EXPECT_EQ(t.open_fds(), 2u);
  EXPECT_EQ(other.open_fds(), 1u);
  EXPECT_EQ(t.close_fd(fd), 0);
  EXPECT_EQ(fops.released, std::vector<std::string>{"/dev/vfio/vfio"});
  t.close_all();
  other.close_all();
}

TEST(TaskVfs, OpenWithAFullFdTableDropsTheOpenedFile) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  Vfs vfs;
  vfs.add_node("/dev/vfio/vfio", [&](Task&, file*& f) {
    f = fops.make("/dev/vfio/vfio");
    return 0L;
  });
  t.rlimit_nofile = 1;
  ASSERT_EQ(vfs.open(t, "/dev/vfio/vfio"), 0);
  const size_t live = live_files();
  EXPECT_EQ(vfs.open(t, "/dev/vfio/vfio"), -EMFILE);
  EXPECT_EQ(live_files(), live);
  EXPECT_EQ(fops.released.size(), 1u);
  EXPECT_EQ(t.open_fds(), 1u);
  t.close_all();
  EXPECT_EQ(fops.released.size(), 2u);
}

TEST(TaskVfs, ListShowsOneDirectoryLevel) {
  Vfs vfs;
  auto none = [](Task&, file*&) { return static_cast<long>(-ENODEV); };
  vfs.add_node("/dev/vfio/vfio", none);
  vfs.add_node("/dev/vfio/12", none);
  vfs.add_node("/dev/vfio/3", none);
  vfs.add_node("/dev/vfio/devices/vfio0", none);
  vfs.add_node("/dev/vfio/devices/vfio1", none);
  vfs.add_node("/dev/vfiox", none);
  vfs.add_node("/dev/null", none);
  EXPECT_EQ(vfs.list("/dev/vfio"), (std::vector<std::string>{"12", "3", "vfio"}));
  EXPECT_EQ(vfs.list("/dev/vfio/"), (std::vector<std::string>{"12", "3", "vfio"}));
  EXPECT_EQ(vfs.list("/dev/vfio/devices"), (std::vector<std::string>{"vfio0", "vfio1"}));
  EXPECT_EQ(vfs.list("/dev"), (std::vector<std::string>{"null", "vfiox"}));
  EXPECT_TRUE(vfs.list("/sys").empty());
  EXPECT_TRUE(vfs.list("/dev/vf").empty());
  vfs.remove_node("/dev/vfio/12");
  EXPECT_EQ(vfs.list("/dev/vfio"), (std::vector<std::string>{"3", "vfio"}));
}

TEST(TaskVfs, RemovedNodeFailsLaterOpensButAnOpenFdStillWorks) {
  Machine m;
  Task t(1, "proc", *m.cpu, m.pages);
  LoggingFops fops;
  int ioctls = 0;
  fops.ops.unlocked_ioctl = [&](file& f, unsigned cmd, uint64_t arg) -> long {
    ++ioctls;
    return static_cast<long>(cmd + arg);
  };
  Vfs vfs;
  int opens = 0;
  vfs.add_node("/dev/vfio/7", [&](Task&, file*& f) {
    ++opens;
    f = fops.make("/dev/vfio/7");
    return 0L;
  });
  const int fd = vfs.open(t, "/dev/vfio/7");
  ASSERT_GE(fd, 0);
  vfs.remove_node("/dev/vfio/7");
  EXPECT_FALSE(vfs.exists("/dev/vfio/7"));
  EXPECT_EQ(vfs.open(t, "/dev/vfio/7"), -ENOENT);
  EXPECT_EQ(opens, 1);
  EXPECT_TRUE(fops.released.empty());
  file* f = t.fget(fd);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->f_op, &fops.ops);
  EXPECT_EQ(f->f_op->unlocked_ioctl(*f, 0x3B64, 1), 0x3B65);
  EXPECT_EQ(ioctls, 1);
  fput(f);
  EXPECT_EQ(t.close_fd(fd), 0);
  EXPECT_EQ(fops.released, std::vector<std::string>{"/dev/vfio/7"});
  vfs.add_node("/dev/vfio/7", [&](Task&, file*& nf) {  // a new node at the same path opens again
    ++opens;
    nf = fops.make("/dev/vfio/7");
    return 0L;
  });
  EXPECT_EQ(vfs.open(t, "/dev/vfio/7"), 0);
  EXPECT_EQ(opens, 2);
  t.close_all();
}
