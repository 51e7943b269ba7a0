// A scenario: the document as written, its resolved form, and the prepared platform config,
// steps and expectations. Loading does all validation, so nothing reaches simulation unchecked.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/app/platform_config.h"
#include "sim/app/steps/step.h"
#include "sim/config/spec.h"

namespace vfiosim {

/// The spec of a whole scenario file (what `vfiosim schema` prints).
std::shared_ptr<const config::ObjectSpec> scenario_spec();
/// The JSON Schema generated from scenario_spec().
nlohmann::json scenario_schema();

struct PreparedStep {
  size_t index;
  std::string name;     // "name" as written, or "<index>:<op>"
  std::string op;
  std::string process;  // simulated userspace process the step runs in
  std::string pointer;  // "/steps/<index>"
  nlohmann::json expect;  // step-level expectations (object, maybe empty)
  std::unique_ptr<Step> step;
};

struct Scenario {
  std::string file;          // as given on the command line
  nlohmann::json written;    // after --set overrides
  nlohmann::json resolved;   // defaults filled in: written out as config.json
  std::string name;
  std::string description;
  uint64_t seed = 1;
  PlatformConfig platform;
  std::vector<PreparedStep> steps;
  nlohmann::json expect;     // top-level expectations (array)

  /// Process names in order of first appearance.
  std::vector<std::string> processes() const;
};

struct LoadOptions {
  std::vector<std::string> overrides;  // "path=value"
  std::optional<uint64_t> seed;        // --seed beats the scenario's "seed"
};

/// Loads, overrides, validates and prepares. Throws config::JsonSyntaxError, config::ConfigError,
/// or std::runtime_error (file unreadable).
Scenario load_scenario(const std::string& path, const LoadOptions& options = {});
/// The same from a parsed document (tests, sweeps).
Scenario prepare_scenario(nlohmann::json written, const std::string& file, const LoadOptions& options = {});

}  // namespace vfiosim
