// The kernel environment's primitives on SystemC: kref/refcount_t semantics, mutex and rwsem
// exclusion between simulated threads (blocking only the waiter), completions with and without
// timeouts, and the lock-order checker reporting an ABBA inversion and a recursive lock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vfio/linux/kernel/sync.h"

using namespace vfiosim::kernel;
using sc_core::sc_time;
using sc_core::SC_NS;

namespace {
std::vector<std::string>& reports() {
  static std::vector<std::string> r;
  return r;
}
void capture() {
  reports().clear();
  set_kernel_report([](const std::string& kind, const std::string& msg) { reports().push_back(kind + ": " + msg); });
}
double now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }
void spawn(const char* name, std::function<void()> fn) { sc_core::sc_spawn(std::move(fn), name); }
}  // namespace

TEST(Kref, ReleasesOnceOnTheLastPut) {
  capture();
  kref k;
  kref_init(k);
  kref_get(k);
  int released = 0;
  EXPECT_FALSE(kref_put(k, [&] { ++released; }));
  EXPECT_TRUE(kref_put(k, [&] { ++released; }));
  EXPECT_EQ(released, 1);
  EXPECT_FALSE(kref_put(k, [&] { ++released; }));  // a put on zero warns and releases nothing
  EXPECT_EQ(released, 1);
  EXPECT_EQ(reports().size(), 1u);
}

TEST(Refcount, IncNotZeroFailsOnZeroAndUnderflowWarns) {
  capture();
  refcount_t r;
  EXPECT_FALSE(refcount_inc_not_zero(r));
  refcount_set(r, 1);
  EXPECT_TRUE(refcount_inc_not_zero(r));
  EXPECT_EQ(refcount_read(r), 2u);
  EXPECT_FALSE(refcount_dec_and_test(r));
  EXPECT_TRUE(refcount_dec_and_test(r));
  EXPECT_TRUE(reports().empty());
  EXPECT_FALSE(refcount_dec_and_test(r));
  EXPECT_EQ(reports().size(), 1u);
}

TEST(Mutex, SecondLockerBlocksUntilTheFirstUnlocks) {
  capture();
  mutex m("test_lock");
  double b_got = -1;
  bool try_while_held = true;
  spawn("a", [&] {
    m.lock();
    sc_core::wait(100, SC_NS);
    m.unlock();
  });
  spawn("b", [&] {
    sc_core::wait(10, SC_NS);
    try_while_held = m.trylock();
    m.lock();
    b_got = now_ns();
    EXPECT_TRUE(m.held_by_current());
    m.unlock();
  });
  sc_core::sc_start();
  EXPECT_FALSE(try_while_held);
  EXPECT_DOUBLE_EQ(b_got, 100.0);
  EXPECT_FALSE(m.is_locked());
}

TEST(RwSemaphore, ReadersShareWritersExclude) {
  capture();
  rw_semaphore s("test_rwsem");
  double r2_got = -1, w_got = -1, r3_got = -1;
  spawn("r1", [&] {
    s.down_read();
    sc_core::wait(50, SC_NS);
    s.up_read();
  });
  spawn("r2", [&] {
    sc_core::wait(10, SC_NS);
    s.down_read();  // shares with r1
    r2_got = now_ns();
    sc_core::wait(50, SC_NS);
    s.up_read();
  });
  spawn("w", [&] {
    sc_core::wait(20, SC_NS);
    s.down_write();  // waits for both readers
    w_got = now_ns();
    sc_core::wait(10, SC_NS);
    s.up_write();
  });
  spawn("r3", [&] {
    sc_core::wait(30, SC_NS);
    s.down_read();  // a waiting writer goes first
    r3_got = now_ns();
    s.up_read();
  });
  sc_core::sc_start();
  EXPECT_DOUBLE_EQ(r2_got, 10.0);
  EXPECT_DOUBLE_EQ(w_got, 60.0);
  EXPECT_DOUBLE_EQ(r3_got, 70.0);
}

TEST(Completion, WaitTimeoutAndCompleteAll) {
  capture();
  completion c, all;
  double woke = -1, timed_out_at = -1, all_a = -1, all_b = -1;
  bool got = true, late = false;
  spawn("waiter", [&] {
    c.wait_for_completion();
    woke = now_ns();
    got = c.wait_for_completion_timeout(sc_time(30, SC_NS));  // nobody completes again
    timed_out_at = now_ns();
    late = c.try_wait_for_completion();
  });
  spawn("a", [&] {
    all.wait_for_completion();
    all_a = now_ns();
  });
  spawn("b", [&] {
    all.wait_for_completion();
    all_b = now_ns();
  });
  spawn("completer", [&] {
    sc_core::wait(40, SC_NS);
    c.complete();
    sc_core::wait(100, SC_NS);
    all.complete_all();
  });
  sc_core::sc_start();
  EXPECT_DOUBLE_EQ(woke, 40.0);
  EXPECT_FALSE(got);
  EXPECT_DOUBLE_EQ(timed_out_at, 70.0);
  EXPECT_FALSE(late);
  EXPECT_DOUBLE_EQ(all_a, 140.0);
  EXPECT_DOUBLE_EQ(all_b, 140.0);
  EXPECT_TRUE(all.try_wait_for_completion());  // complete_all stays done
}

TEST(LockChecker, ReportsAnAbbaInversionOnceWithoutAborting) {
  capture();
  LockChecker::instance().reset();
  mutex a("group->group_lock"), b("container->group_lock");
  spawn("t1", [&] {
    a.lock();
    b.lock();
    b.unlock();
    a.unlock();
  });
  spawn("t2", [&] {
    sc_core::wait(10, SC_NS);  // after t1: no actual deadlock, only the order is wrong
    b.lock();
    a.lock();
    a.unlock();
    b.unlock();
    b.lock();
    a.lock();  // the same inversion again: reported once
    a.unlock();
    b.unlock();
  });
  sc_core::sc_start();
  EXPECT_EQ(LockChecker::instance().inversions(), 1u);
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_NE(reports()[0].find("circular locking dependency"), std::string::npos);
  EXPECT_TRUE(LockChecker::instance().edges().count({"group->group_lock", "container->group_lock"}));
}

TEST(LockChecker, ReportsRecursiveLocking) {
  capture();
  LockChecker::instance().reset();
  mutex m("vfio.group_lock");
  bool second_returned = false;
  spawn("t", [&] {
    m.lock();
    m.lock();  // blocks forever, as the kernel would
    second_returned = true;
  });
  sc_core::sc_start();
  EXPECT_FALSE(second_returned);
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_NE(reports()[0].find("recursive locking"), std::string::npos);
}
