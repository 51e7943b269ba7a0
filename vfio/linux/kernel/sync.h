// The kernel environment's reference counts and sleeping locks, on SystemC events: kref and
// refcount_t (include/linux/kref.h, refcount.h), struct mutex, struct rw_semaphore and struct
// completion (kernel/locking, kernel/sched/completion.c). A blocked lock or wait blocks only the
// calling simulated thread; the order in which waiters run is SystemC's, so a run is replayable.
// A small lock-order checker (lockdep's core idea) records which lock classes are taken while
// others are held and reports an inversion — or a recursive acquisition — instead of aborting.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <systemc>

namespace vfiosim::kernel {

/// Where the environment reports what the kernel would WARN or lockdep would print.
using KernelReport = std::function<void(const std::string& kind, const std::string& message)>;
void set_kernel_report(KernelReport fn);
void kernel_warn(const std::string& kind, const std::string& message);

// ---- kref / refcount_t ----
struct kref {
  unsigned refcount = 1;
};
inline void kref_init(kref& k) { k.refcount = 1; }
inline void kref_get(kref& k) { ++k.refcount; }
/// Drops a reference; calls `release` and returns true when it was the last.
bool kref_put(kref& k, const std::function<void()>& release);
inline unsigned kref_read(const kref& k) { return k.refcount; }

/// refcount_t: saturates instead of wrapping; increments from 0 and decrements below 0 warn.
struct refcount_t {
  unsigned value = 0;
};
inline void refcount_set(refcount_t& r, unsigned v) { r.value = v; }
inline unsigned refcount_read(const refcount_t& r) { return r.value; }
void refcount_inc(refcount_t& r);
/// Increments unless the count is zero; false when it was zero.
bool refcount_inc_not_zero(refcount_t& r);
/// Decrements; true when it reached zero.
bool refcount_dec_and_test(refcount_t& r);

// ---- lock-order checking ----
class LockChecker {
 public:
  static LockChecker& instance();
  /// Called before a thread blocks on / takes a lock of `cls`.
  void acquire(const std::string& cls, const void* lock);
  void release(const std::string& cls, const void* lock);
  /// Pairs "A -> B" meaning B was taken while A was held.
  const std::set<std::pair<std::string, std::string>>& edges() const { return edges_; }
  std::vector<std::string> held_by_current() const;
  uint64_t inversions() const { return inversions_; }
  void reset();
  /// lockdep_set_novalidate_class(): locks of `cls` are never ordered against others (the
  /// kernel's device mutex); recursion on one lock is still reported.
  void set_novalidate_class(const std::string& cls) { novalidate_.insert(cls); }

 private:
  std::map<const void*, std::vector<std::pair<std::string, const void*>>> held_;  // per thread
  std::set<std::pair<std::string, std::string>> edges_;
  std::set<std::pair<std::string, std::string>> reported_;
  uint64_t inversions_ = 0;
  std::set<std::string> novalidate_;
};

// ---- struct mutex ----
class mutex {
 public:
  explicit mutex(std::string lock_class) : class_(std::move(lock_class)) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock();
  /// mutex_trylock(): true when taken.
  bool trylock();
  void unlock();
  bool is_locked() const { return owner_ != nullptr; }
  /// lockdep_assert_held() for the current thread.
  bool held_by_current() const;
  const std::string& lock_class() const { return class_; }

 private:
  std::string class_;
  const void* owner_ = nullptr;
  sc_core::sc_event released_;
};

/// mutex_lock / mutex_unlock as a scope (guard(mutex) in later kernels).
class mutex_guard {
 public:
  explicit mutex_guard(mutex& m) : m_(m) { m_.lock(); }
  ~mutex_guard() { m_.unlock(); }
  mutex_guard(const mutex_guard&) = delete;
  mutex_guard& operator=(const mutex_guard&) = delete;

 private:
  mutex& m_;
};

// ---- struct rw_semaphore ----
class rw_semaphore {
 public:
  explicit rw_semaphore(std::string lock_class) : class_(std::move(lock_class)) {}
  void down_read();
  bool down_read_trylock();
  void up_read();
  void down_write();
  bool down_write_trylock();
  void up_write();
  unsigned readers() const { return readers_; }
  bool write_locked() const { return writer_ != nullptr; }

 private:
  std::string class_;
  unsigned readers_ = 0;
  const void* writer_ = nullptr;
  unsigned writers_waiting_ = 0;
  sc_core::sc_event changed_;
};

// ---- struct completion ----
class completion {
 public:
  void reinit() { done_ = 0; }
  void complete();
  void complete_all();
  void wait_for_completion();
  /// True when completed within `timeout`, false on timeout.
  bool wait_for_completion_timeout(const sc_core::sc_time& timeout);
  /// Consumes a completion without blocking; false if none is pending.
  bool try_wait_for_completion();
  bool completion_done() const { return done_ != 0; }

 private:
  static constexpr unsigned kAll = ~0u;
  unsigned done_ = 0;
  sc_core::sc_event ev_;
};

}  // namespace vfiosim::kernel
