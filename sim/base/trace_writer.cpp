#include "sim/base/trace_writer.h"

#include <cstdio>
#include <stdexcept>

namespace vfiosim {

namespace {
std::string ts_us(uint64_t ps) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                static_cast<unsigned long long>(ps % 1000000));
  return buf;
}
}  // namespace

TraceWriter::TraceWriter(const std::string& path) : out_(path) {
  if (!out_) throw std::runtime_error("cannot write trace file " + path);
  out_ << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  out_ << R"({"ph":"M","pid":1,"tid":0,"name":"process_name","args":{"name":"vfiosim"}})";
  first_ = false;
}

TraceWriter::~TraceWriter() { close(); }

void TraceWriter::close() {
  if (closed_) return;
  closed_ = true;
  out_ << "\n]}\n";
  out_.close();
}

int TraceWriter::track(const std::string& name) {
  auto it = tracks_.find(name);
  if (it != tracks_.end()) return it->second;
  const int tid = static_cast<int>(tracks_.size()) + 1;
  tracks_.emplace(name, tid);
  out_ << ",\n" << R"({"ph":"M","pid":1,"tid":)" << tid
       << R"(,"name":"thread_name","args":{"name":)" << nlohmann::json(name).dump() << "}}";
  return tid;
}

void TraceWriter::emit(const char* ph, int track, const char* cat, const std::string& name, uint64_t ps,
                       const nlohmann::json* args, const uint64_t* id) {
  if (closed_) return;
  ++events_;
  out_ << (first_ ? "" : ",\n") << "{\"ph\":\"" << ph << "\",\"pid\":1,\"tid\":" << track
       << ",\"ts\":" << ts_us(ps) << ",\"name\":" << nlohmann::json(name).dump();
  first_ = false;
  if (cat) out_ << ",\"cat\":\"" << cat << '"';
  if (id) out_ << ",\"id\":" << *id;
  if (args && !args->is_null()) out_ << ",\"args\":" << args->dump();
  out_ << '}';
}

void TraceWriter::async_begin(int track, const char* cat, const std::string& name, uint64_t id, uint64_t ps,
                              const nlohmann::json& args) {
  emit("b", track, cat, name, ps, &args, &id);
}

void TraceWriter::async_end(int track, const char* cat, const std::string& name, uint64_t id, uint64_t ps,
                            const nlohmann::json& args) {
  emit("e", track, cat, name, ps, &args, &id);
}

void TraceWriter::instant(int track, const char* cat, const std::string& name, uint64_t ps,
                          const nlohmann::json& args) {
  nlohmann::json a = args;
  emit("i", track, cat, name, ps, &a, nullptr);
}

void TraceWriter::counter(int track, const std::string& name, uint64_t ps, double value) {
  const nlohmann::json args = {{"value", value}};
  emit("C", track, nullptr, name, ps, &args, nullptr);
}

}  // namespace vfiosim
