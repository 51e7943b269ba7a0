// Fuzz target: a scenario document as a user writes it. Loading either prepares it or throws the
// configuration error that becomes exit code 2 with a JSON pointer; any other exception, a crash
// or a hang is a bug.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_target.h"
#include "sim/app/scenario.h"
#include "sim/config/errors.h"

// libsystemc refers to sc_main; loading a scenario never starts a simulation.
int sc_main(int, char**) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json written = nlohmann::json::parse(data, data + size, nullptr, false);
  if (written.is_discarded()) return 0;
  try {
    (void)vfiosim::prepare_scenario(std::move(written), "fuzz.json");
  } catch (const vfiosim::config::ConfigError&) {
  }
  return 0;
}
