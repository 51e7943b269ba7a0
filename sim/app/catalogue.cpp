#include "sim/app/catalogue.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "sim/app/platform_config.h"
#include "sim/app/steps/step.h"
#include "sim/app/version.h"
#include "sim/config/json_file.h"

namespace vfiosim {

namespace fs = std::filesystem;

std::string scenario_dir() {
  if (const char* env = std::getenv("VFIOSIM_SCENARIO_DIR")) return env;
  return (fs::path(kSourceDir) / "scenarios").string();
}

std::vector<ScenarioEntry> bundled_scenarios() {
  std::vector<ScenarioEntry> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scenario_dir(), ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    ScenarioEntry e{entry.path().string(), "", ""};
    try {
      const auto doc = config::load_json_file(e.file);
      e.name = doc.value("name", "");
      e.description = doc.value("description", "");
    } catch (const std::exception& ex) {
      e.description = std::string("(unreadable: ") + ex.what() + ")";
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return out;
}

namespace {
void rows_out(std::ostringstream& out, const std::vector<config::ParamRow>& rows, const std::string& indent) {
  size_t wp = 9, wt = 4, wd = 7, wu = 4;  // at least the header widths
  for (const auto& r : rows) {
    wp = std::max(wp, r.path.size());
    wt = std::max(wt, r.type.size());
    wd = std::max(wd, r.def.size());
    wu = std::max(wu, r.unit.size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w > s.size() ? w - s.size() + 2 : 2, ' '); };
  out << indent << pad("PARAMETER", wp) << pad("TYPE", wt) << pad("DEFAULT", wd) << pad("UNIT", wu) << "DESCRIPTION\n";
  for (const auto& r : rows)
    out << indent << pad(r.path, wp) << pad(r.type, wt) << pad(r.def, wd) << pad(r.unit, wu) << r.desc << "\n";
}
}  // namespace

std::string render_scenario_list() {
  std::ostringstream out;
  out << "Bundled scenarios (" << scenario_dir() << "):\n";
  for (const auto& s : bundled_scenarios())
    out << "  " << fs::path(s.file).filename().string() << "  " << s.name << " - " << s.description << "\n";
  return out.str();
}

std::string render_param_list() {
  std::vector<config::ParamRow> rows;
  config::list_params(*PlatformConfig::spec(), "platform", rows);
  std::ostringstream out;
  out << "Model parameters (override any with --set PATH=VALUE; arrays by index, e.g. "
         "platform.dma_masters[0].clock_mhz):\n";
  rows_out(out, rows, "  ");
  return out.str();
}

std::string render_step_list() {
  std::ostringstream out;
  out << "Step operations (\"op\"); every step also takes name, process, comment and expect:\n";
  for (const auto& t : step_types()) {
    out << "\n  " << t.op << ": " << t.desc << "\n";
    config::ObjectSpec in(t.op, "");
    for (const auto& f : t.fields) in.add(f);
    std::vector<config::ParamRow> rows;
    config::list_params(in, "", rows);
    rows_out(out, rows, "    ");
    out << "    outputs:";
    for (const auto& o : t.outputs) out << " " << o.name;
    out << "\n";
  }
  return out.str();
}

}  // namespace vfiosim
