// Deterministic random numbers: xoshiro256** seeded by splitmix64, with our own bounded-integer
// reduction so results do not depend on the standard library's distributions. Each component
// takes a named stream (`Rng::stream(seed, "system.dma0")`), so adding a component does not shift
// the numbers another one draws.
#pragma once

#include <cstdint>
#include <string_view>

namespace vfiosim {

class Rng {
 public:
  explicit Rng(uint64_t seed = 1);

  /// A stream derived from a run seed and a stable name (FNV-1a of the name mixed with the seed).
  static Rng stream(uint64_t seed, std::string_view name);

  uint64_t next();
  /// Uniform integer in [0, bound); bound 0 yields 0. Unbiased (Lemire's method with rejection).
  uint64_t below(uint64_t bound);
  /// Uniform double in [0, 1).
  double uniform();

  static uint64_t splitmix64(uint64_t& state);
  static uint64_t hash(std::string_view text);

 private:
  uint64_t s_[4];
};

}  // namespace vfiosim
