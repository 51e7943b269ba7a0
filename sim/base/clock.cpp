#include "sim/base/int128.h"
#include "sim/base/clock.h"

#include <cstdint>
#include <stdexcept>

namespace vfiosim {

namespace {
constexpr uint128_t kPsPerSecond = 1000000000000ULL;

// Checks once that the kernel's resolution is the 1 ps our integer conversion assumes.
bool resolution_is_ps() {
  static const bool ok = sc_core::sc_get_time_resolution() == sc_core::sc_time(1, sc_core::SC_PS);
  return ok;
}
}  // namespace

ClockDomain::ClockDomain(std::string name, uint64_t freq_num, uint64_t freq_den)
    : name_(std::move(name)), freq_num_(freq_num), freq_den_(freq_den) {
  check_resolution();
  if (freq_num_ == 0 || freq_den_ == 0) throw std::invalid_argument("clock domain '" + name_ + "' has frequency 0");
  if (freq_num_ / freq_den_ > 1000000000000ULL)
    throw std::invalid_argument("clock domain '" + name_ + "' is faster than the 1 ps resolution");
  const uint128_t ps_num = kPsPerSecond * freq_den_;
  ps_per_cycle_ = static_cast<double>(ps_num) / static_cast<double>(freq_num_);
  cycles_per_ps_ = static_cast<double>(freq_num_) / static_cast<double>(ps_num);
  if (ps_num % freq_num_ == 0 && ps_num / freq_num_ <= UINT64_MAX) {
    period_ = static_cast<uint64_t>(ps_num / freq_num_);
    max_fast_cycle_ = UINT64_MAX / period_;
  }
}

namespace {
// floor(n / d) for 128-bit n, from an estimate `q` that is off by one at most (a double below
// 2^52 carries the quotient to within 1), corrected with multiplications: no 128-bit division
// on the hot path.
uint64_t floor_div(uint128_t n, uint128_t d, uint64_t q) {
  while (q && static_cast<uint128_t>(q) * d > n) --q;
  while (static_cast<uint128_t>(q + 1) * d <= n) ++q;
  return q;
}
}  // namespace

uint64_t ClockDomain::ps_of_exact(uint64_t cycle) const {
  // ceil(cycle * 1e12 * den / num)
  const uint128_t k = kPsPerSecond * freq_den_;
  const uint128_t n = static_cast<uint128_t>(cycle) * k;
  const double est = static_cast<double>(cycle) * ps_per_cycle_;
  if (est >= 4.0e15) return static_cast<uint64_t>((n + freq_num_ - 1) / freq_num_);
  const uint64_t q = floor_div(n, freq_num_, static_cast<uint64_t>(est));
  return static_cast<uint128_t>(q) * freq_num_ == n ? q : q + 1;
}

uint64_t ClockDomain::cycle_at_or_after_exact(uint64_t ps) const {
  // Smallest n with ceil(n*1e12*den/num) >= ps, i.e. n*1e12*den > (ps-1)*num.
  if (ps == 0) return 0;
  const uint128_t k = kPsPerSecond * freq_den_;
  const uint128_t m = static_cast<uint128_t>(ps - 1) * freq_num_;
  const double est = static_cast<double>(ps - 1) * cycles_per_ps_;
  if (est >= 4.0e15) return static_cast<uint64_t>(m / k) + 1;
  return floor_div(m, k, static_cast<uint64_t>(est)) + 1;
}

void ClockDomain::check_resolution() {
  if (!resolution_is_ps()) throw std::logic_error("vfiosim requires the 1 ps time resolution");
}

}  // namespace vfiosim
