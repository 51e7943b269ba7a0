// Logging to stderr (stdout carries only results), and routing of SystemC's own reports and
// banner so nothing the kernel prints reaches stdout.
#pragma once

#include <string>

namespace vfiosim::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

void set_level(Level level);
Level level();
bool enabled(Level level);

/// Parses "debug", "info", "warn", "error", "off".
bool parse_level(const std::string& text, Level& out);

void write(Level level, const std::string& message);
inline void debug(const std::string& m) { if (enabled(Level::Debug)) write(Level::Debug, m); }
inline void info(const std::string& m) { if (enabled(Level::Info)) write(Level::Info, m); }
inline void warn(const std::string& m) { if (enabled(Level::Warn)) write(Level::Warn, m); }
inline void error(const std::string& m) { if (enabled(Level::Error)) write(Level::Error, m); }

/// Silences the SystemC banner and installs a report handler that logs INFO/WARNING to stderr
/// and turns ERROR/FATAL into a C++ exception (std::runtime_error). Call before elaboration.
void route_systemc_reports();

}  // namespace vfiosim::log
