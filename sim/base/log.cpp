#include "sim/base/log.h"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <systemc>

namespace vfiosim::log {

namespace {
Level g_level = Level::Warn;

void systemc_handler(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
  const std::string text = std::string(report.get_msg_type()) + ": " + report.get_msg();
  switch (report.get_severity()) {
    case sc_core::SC_INFO:
      debug("systemc: " + text);
      break;
    case sc_core::SC_WARNING:
      warn("systemc: " + text);
      break;
    default:
      if (actions & sc_core::SC_THROW || actions & sc_core::SC_ABORT || actions & sc_core::SC_STOP ||
          actions & sc_core::SC_DISPLAY)
        throw std::runtime_error("systemc: " + text);
  }
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
bool enabled(Level level) { return level >= g_level && level != Level::Off; }

bool parse_level(const std::string& text, Level& out) {
  static const struct {
    const char* name;
    Level level;
  } table[] = {{"debug", Level::Debug}, {"info", Level::Info}, {"warn", Level::Warn},
               {"error", Level::Error}, {"off", Level::Off}};
  for (const auto& row : table)
    if (text == row.name) {
      out = row.level;
      return true;
    }
  return false;
}

void write(Level level, const std::string& message) {
  static const char* names[] = {"debug", "info", "warning", "error"};
  std::cerr << "vfiosim: " << names[static_cast<int>(level)] << ": " << message << '\n';
}

void route_systemc_reports() {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  sc_core::sc_report_handler::set_handler(systemc_handler);
}

}  // namespace vfiosim::log
