// Clock domains: named frequencies and exact cycle <-> time conversion.
//
// Simulated time has SystemC's default resolution of 1 ps. A domain's frequency is a rational
// number of hertz, f = num / den (a Gen3 PCIe lane moves 8e9 * 128/130 / 8 bytes per second), and
// its cycle n begins at ceil(n * 1e12 / f) ps, computed from cycle 0 at time 0 with 128-bit integers, so a 1200 MHz
// domain has no drift however long it runs (its periods are 833 or 834 ps). Domains whose period
// is a whole number of picoseconds (1000 MHz, 250 MHz) take an exact 64-bit shortcut. Every timed event of
// a component is placed with `align_up` or `time_of`, so it lands on a cycle boundary of the
// component's own domain.
#pragma once

#include <cstdint>
#include <string>

#include <systemc>

namespace vfiosim {

class ClockDomain {
 public:
  ClockDomain(std::string name, uint64_t freq_hz) : ClockDomain(std::move(name), freq_hz, 1) {}
  /// A frequency of freq_num / freq_den hertz.
  ClockDomain(std::string name, uint64_t freq_num, uint64_t freq_den);

  const std::string& name() const { return name_; }
  /// Frequency in hertz, rounded down (exact when den is 1).
  uint64_t freq_hz() const { return freq_num_ / freq_den_; }
  double freq_mhz() const { return static_cast<double>(freq_num_) / static_cast<double>(freq_den_) / 1e6; }

  /// Picoseconds at which cycle `cycle` begins.
  uint64_t ps_of(uint64_t cycle) const {
    if (period_ && cycle <= max_fast_cycle_) return cycle * period_;  // whole-picosecond period
    return ps_of_exact(cycle);
  }
  /// Index of the first cycle that begins at or after `ps`.
  uint64_t cycle_at_or_after(uint64_t ps) const {
    if (period_) return ps / period_ + (ps % period_ != 0);
    return cycle_at_or_after_exact(ps);
  }

  sc_core::sc_time time_of(uint64_t cycle) const { return to_time(ps_of(cycle)); }
  uint64_t cycle_at_or_after(const sc_core::sc_time& t) const { return cycle_at_or_after(to_ps(t)); }
  /// The first cycle boundary at or after `t`.
  sc_core::sc_time align_up(const sc_core::sc_time& t) const { return time_of(cycle_at_or_after(t)); }

  /// Nominal period in picoseconds (rounded); for reporting only, never for scheduling.
  double period_ps() const { return 1e12 * static_cast<double>(freq_den_) / static_cast<double>(freq_num_); }

  /// Picoseconds of a SystemC time (the kernel's resolution is checked to be 1 ps once, when the
  /// first clock domain is made).
  static uint64_t to_ps(const sc_core::sc_time& t) { return t.value(); }
  static sc_core::sc_time to_time(uint64_t ps) { return sc_core::sc_time::from_value(ps); }
  /// Throws std::logic_error unless SystemC's time resolution is 1 ps.
  static void check_resolution();

 private:
  uint64_t ps_of_exact(uint64_t cycle) const;
  uint64_t cycle_at_or_after_exact(uint64_t ps) const;

  std::string name_;
  uint64_t freq_num_;
  uint64_t freq_den_;
  // Fast path (the same results): when the period is a whole number of picoseconds, cycle n
  // begins at n * period_ exactly and no 128-bit arithmetic is needed.
  uint64_t period_ = 0;
  uint64_t max_fast_cycle_ = 0;  // cycle * period_ stays below 2^64
  double ps_per_cycle_ = 0;   // estimates the exact path corrects (no 128-bit division)
  double cycles_per_ps_ = 0;
};

}  // namespace vfiosim
