// The vfiosim command line: run, validate, list, schema. The executable's main() only calls
// cli_main(). Exit codes: 0 success; 1 the scenario ran but an expectation failed (or it did not
// finish); 2 invalid input or usage; 3 internal error.
#pragma once

namespace vfiosim {

enum ExitCode { kExitOk = 0, kExitExpectationFailed = 1, kExitInvalidInput = 2, kExitInternalError = 3 };

int cli_main(int argc, char** argv);

}  // namespace vfiosim
