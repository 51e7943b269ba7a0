// The SystemC floor of this machine: an approximately-timed 4-phase TLM-2.0 transaction loop
// between a trivial initiator and target (BEGIN_REQ -> END_REQ, BEGIN_RESP via a payload event
// queue -> END_RESP), the cheapest way to move a transaction with time in SystemC. Model
// benchmarks report their speed as a fraction of it.
#pragma once

#include <cstdint>

namespace vfiosim::bench {

/// Elaborates the floor pair (once per process); call before the first sc_start().
void elaborate_floor();

/// Each benchmark program defines this: elaborate everything it measures, plus the floor pair,
/// once (SystemC cannot elaborate after the first sc_start()). The shared floor benchmark and
/// sc_main (in systemc_floor.cpp) rely on it.
void elaborate_all();
/// Runs `n` transactions through the floor pair to completion.
void run_floor(uint64_t n);

}  // namespace vfiosim::bench
