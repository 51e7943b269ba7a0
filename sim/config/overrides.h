// `--set path=value` overrides applied to a scenario as written, before validation, so a bad
// override is reported with the same JSON pointer a bad file would get.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vfiosim::config {

/// Turns "platform.memory.latency_cycles", "platform.dma_masters[0].clock_mhz" or a JSON pointer
/// ("/platform/memory/latency_cycles") into a JSON pointer. Throws ConfigError on a malformed path.
std::string override_pointer(const std::string& path);

/// Applies one "path=value" override. The value is parsed as JSON when it is valid JSON
/// (numbers, true, {"a":1}) and taken as a string otherwise ("4KiB"). Missing objects on the way
/// are created; indexing past the end of an array is an error.
void apply_override(nlohmann::json& doc, const std::string& assignment);

}  // namespace vfiosim::config
