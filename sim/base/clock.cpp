#include "sim/base/int128.h"
#include "sim/base/clock.h"

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
  if (freq_num_ == 0 || freq_den_ == 0) throw std::invalid_argument("clock domain '" + name_ + "' has frequency 0");
  if (freq_num_ / freq_den_ > 1000000000000ULL)
    throw std::invalid_argument("clock domain '" + name_ + "' is faster than the 1 ps resolution");
}

uint64_t ClockDomain::ps_of(uint64_t cycle) const {
  // ceil(cycle * 1e12 * den / num)
  const uint128_t num = static_cast<uint128_t>(cycle) * kPsPerSecond * freq_den_;
  return static_cast<uint64_t>((num + freq_num_ - 1) / freq_num_);
}

uint64_t ClockDomain::cycle_at_or_after(uint64_t ps) const {
  // Smallest n with ceil(n*1e12*den/num) >= ps, i.e. n*1e12*den > (ps-1)*num.
  if (ps == 0) return 0;
  const uint128_t lhs = static_cast<uint128_t>(ps - 1) * freq_num_;
  return static_cast<uint64_t>(lhs / (kPsPerSecond * freq_den_)) + 1;
}

uint64_t ClockDomain::to_ps(const sc_core::sc_time& t) {
  if (!resolution_is_ps()) throw std::logic_error("vfiosim requires the 1 ps time resolution");
  return t.value();
}

sc_core::sc_time ClockDomain::to_time(uint64_t ps) {
  if (!resolution_is_ps()) throw std::logic_error("vfiosim requires the 1 ps time resolution");
  return sc_core::sc_time::from_value(ps);
}

}  // namespace vfiosim
