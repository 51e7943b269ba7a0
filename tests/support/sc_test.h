// Helpers for tests that simulate: run a test body inside a SystemC thread so it can wait() and
// issue b_transport, then run the kernel until it starves.
#pragma once

#include <functional>

#include <systemc>

namespace vfiosim::sctest {

/// Spawns `body` as a thread, runs the simulation to completion, and returns the final time.
inline sc_core::sc_time run_in_thread(std::function<void()> body) {
  sc_core::sc_spawn(std::move(body), "test_body");
  sc_core::sc_start();
  return sc_core::sc_time_stamp();
}

}  // namespace vfiosim::sctest
