// What `vfiosim list` shows: the bundled scenarios and every parameter and step op with its
// default, unit and description — generated from the same specs the loader validates with.
#pragma once

#include <string>
#include <vector>

namespace vfiosim {

struct ScenarioEntry {
  std::string file;
  std::string name;
  std::string description;
};

/// $VFIOSIM_SCENARIO_DIR, else the source tree's scenarios/ folder.
std::string scenario_dir();
std::vector<ScenarioEntry> bundled_scenarios();

std::string render_scenario_list();
std::string render_param_list();
std::string render_step_list();

}  // namespace vfiosim
