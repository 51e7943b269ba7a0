// Test main for every GoogleTest binary: libsystemc defines main() and calls sc_main().
#include <cstdlib>

#include <gtest/gtest.h>
#include <systemc>

int sc_main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

namespace {
// Silence the banner before the simulation context exists (static init runs before sc_main).
const bool banner_off = [] { return ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();
}  // namespace
