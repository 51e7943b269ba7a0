// vfiosim: a thin main over the library (sim/app/cli.cpp does the work).
//
// We provide main() rather than sc_main() so the SystemC banner can be switched off before the
// library gets a chance to print it; sc_elab_and_sim() then calls sc_main() as usual.
#include <cstdlib>

#include <systemc>

#include "sim/app/cli.h"
#include "sim/base/log.h"

int sc_main(int argc, char* argv[]) {
  vfiosim::log::route_systemc_reports();
  return vfiosim::cli_main(argc, argv);
}

int main(int argc, char* argv[]) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
