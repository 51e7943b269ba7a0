// Chrome trace-event JSON writer (opens in Perfetto and chrome://tracing).
//
// Events stream to the file as they happen, so memory stays flat however long the run. Overlapping
// transactions use async slices (ph "b"/"e" with an id) so Perfetto does not push them onto an
// overflow track; queue depths and utilisation use counter events (ph "C"). Timestamps are
// simulated picoseconds written as microseconds with six exact decimals.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace vfiosim {

class TraceWriter {
 public:
  explicit TraceWriter(const std::string& path);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  /// A track (Perfetto "thread") for one component; created on first use with a name record.
  int track(const std::string& name);

  void async_begin(int track, const char* cat, const std::string& name, uint64_t id, uint64_t ps,
                   const nlohmann::json& args = nullptr);
  void async_end(int track, const char* cat, const std::string& name, uint64_t id, uint64_t ps,
                 const nlohmann::json& args = nullptr);
  void instant(int track, const char* cat, const std::string& name, uint64_t ps,
               const nlohmann::json& args = nullptr);
  void counter(int track, const std::string& name, uint64_t ps, double value);

  /// Fresh id for an async slice; unique within the file.
  uint64_t next_id() { return ++last_id_; }
  uint64_t events() const { return events_; }
  void close();

 private:
  void emit(const char* ph, int track, const char* cat, const std::string& name, uint64_t ps,
            const nlohmann::json* args, const uint64_t* id);

  std::ofstream out_;
  std::map<std::string, int> tracks_;
  uint64_t last_id_ = 0;
  uint64_t events_ = 0;
  bool first_ = true;
  bool closed_ = false;
};

}  // namespace vfiosim
