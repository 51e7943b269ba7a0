#include "vfio/linux/kernel/sync.h"

#include <algorithm>

namespace vfiosim::kernel {

namespace {
KernelReport& report_fn() {
  static KernelReport fn;
  return fn;
}
const void* current_thread() {
  sc_core::sc_process_handle h = sc_core::sc_get_current_process_handle();
  return h.valid() ? static_cast<const void*>(h.get_process_object()) : nullptr;
}
}  // namespace

void set_kernel_report(KernelReport fn) { report_fn() = std::move(fn); }

void kernel_warn(const std::string& kind, const std::string& message) {
  if (report_fn()) report_fn()(kind, message);
}

bool kref_put(kref& k, const std::function<void()>& release) {
  if (k.refcount == 0) {
    kernel_warn("WARNING", "kref_put on a zero refcount");
    return false;
  }
  if (--k.refcount) return false;
  if (release) release();
  return true;
}

void refcount_inc(refcount_t& r) {
  if (r.value == 0) kernel_warn("WARNING", "refcount_t: addition on 0; use-after-free");
  if (r.value != ~0u) ++r.value;
}

bool refcount_inc_not_zero(refcount_t& r) {
  if (r.value == 0) return false;
  if (r.value != ~0u) ++r.value;
  return true;
}

bool refcount_dec_and_test(refcount_t& r) {
  if (r.value == 0) {
    kernel_warn("WARNING", "refcount_t: underflow; use-after-free");
    return false;
  }
  return --r.value == 0;
}

// ---- LockChecker ----

LockChecker& LockChecker::instance() {
  static LockChecker c;
  return c;
}

void LockChecker::reset() {
  held_.clear();
  edges_.clear();
  reported_.clear();
  inversions_ = 0;
}

void LockChecker::acquire(const std::string& cls, const void* lock) {
  auto& held = held_[current_thread()];
  const bool novalidate = novalidate_.count(cls) != 0;
  for (const auto& [h, l] : held) {
    if (l == lock) {
      if (reported_.insert({cls, cls}).second)
        kernel_warn("lockdep", "possible recursive locking detected: " + cls + " is already held");
      continue;
    }
    if (h == cls) continue;  // two locks of one class (nesting annotations are not modelled)
    if (novalidate || novalidate_.count(h)) continue;  // lockdep_set_novalidate_class()
    edges_.insert({h, cls});
    if (edges_.count({cls, h}) && reported_.insert({h, cls}).second && reported_.insert({cls, h}).second) {
      ++inversions_;
      kernel_warn("lockdep", "possible circular locking dependency: " + cls + " taken while holding " + h +
                                 ", and " + h + " was taken while holding " + cls + " before");
    }
  }
  held.push_back({cls, lock});
}

void LockChecker::release(const std::string& cls, const void* lock) {
  auto it = held_.find(current_thread());
  if (it == held_.end()) return;
  auto& held = it->second;
  for (auto h = held.rbegin(); h != held.rend(); ++h)
    if (h->second == lock && h->first == cls) {
      held.erase(std::next(h).base());
      break;
    }
  if (held.empty()) held_.erase(it);
}

std::vector<std::string> LockChecker::held_by_current() const {
  std::vector<std::string> out;
  auto it = held_.find(current_thread());
  if (it != held_.end())
    for (const auto& [c, l] : it->second) out.push_back(c);
  return out;
}

// ---- mutex ----

void mutex::lock() {
  LockChecker::instance().acquire(class_, this);
  const void* me = current_thread();
  while (owner_) sc_core::wait(released_);  // a recursive lock blocks forever, as in the kernel
  owner_ = me;
}

bool mutex::trylock() {
  if (owner_) return false;
  LockChecker::instance().acquire(class_, this);
  owner_ = current_thread();
  return true;
}

void mutex::unlock() {
  if (owner_ != current_thread()) kernel_warn("WARNING", "mutex " + class_ + " unlocked by a thread that does not hold it");
  owner_ = nullptr;
  LockChecker::instance().release(class_, this);
  released_.notify(sc_core::SC_ZERO_TIME);
}

bool mutex::held_by_current() const { return owner_ && owner_ == current_thread(); }

// ---- rw_semaphore: writers are preferred once waiting, as rwsem hand-off does ----

void rw_semaphore::down_read() {
  LockChecker::instance().acquire(class_, this);
  while (writer_ || writers_waiting_) sc_core::wait(changed_);
  ++readers_;
}

bool rw_semaphore::down_read_trylock() {
  if (writer_ || writers_waiting_) return false;
  LockChecker::instance().acquire(class_, this);
  ++readers_;
  return true;
}

void rw_semaphore::up_read() {
  if (readers_) --readers_;
  LockChecker::instance().release(class_, this);
  changed_.notify(sc_core::SC_ZERO_TIME);
}

void rw_semaphore::down_write() {
  LockChecker::instance().acquire(class_, this);
  ++writers_waiting_;
  while (writer_ || readers_) sc_core::wait(changed_);
  --writers_waiting_;
  writer_ = current_thread();
}

bool rw_semaphore::down_write_trylock() {
  if (writer_ || readers_) return false;
  LockChecker::instance().acquire(class_, this);
  writer_ = current_thread();
  return true;
}

void rw_semaphore::up_write() {
  writer_ = nullptr;
  LockChecker::instance().release(class_, this);
  changed_.notify(sc_core::SC_ZERO_TIME);
}

// ---- completion ----

void completion::complete() {
  if (done_ != kAll) ++done_;
  ev_.notify(sc_core::SC_ZERO_TIME);
}

void completion::complete_all() {
  done_ = kAll;
  ev_.notify(sc_core::SC_ZERO_TIME);
}

void completion::wait_for_completion() {
  while (!done_) sc_core::wait(ev_);
  if (done_ != kAll) --done_;
}

bool completion::wait_for_completion_timeout(const sc_core::sc_time& timeout) {
  const sc_core::sc_time deadline = sc_core::sc_time_stamp() + timeout;
  while (!done_) {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    if (now >= deadline) return false;
    sc_core::wait(deadline - now, ev_);
  }
  if (done_ != kAll) --done_;
  return true;
}

bool completion::try_wait_for_completion() {
  if (!done_) return false;
  if (done_ != kAll) --done_;
  return true;
}

}  // namespace vfiosim::kernel
