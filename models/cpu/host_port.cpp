#include "models/cpu/host_port.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sim/base/tlm_util.h"

namespace vfiosim {

HostPort::HostPort(const sc_core::sc_module_name& name, stats::Group& parent)
    : sc_module(name),
      socket("socket"),
      stats_(parent.child(basename())),
      reads_(stats_.counter("mmio_reads", "accesses", "Uncached reads (MMIO and config)")),
      writes_(stats_.counter("mmio_writes", "accesses", "Uncached writes (MMIO and config)")),
      latency_(stats_.histogram("mmio_latency", "ns", "Round trip of an uncached access", 1e-3)),
      mem_reads_(stats_.counter("mem_reads", "accesses", "Loads from host memory that went to memory")),
      mem_writes_(stats_.counter("mem_writes", "accesses", "Posted stores to host memory")),
      mem_bytes_written_(stats_.counter("mem_bytes_written", "bytes", "Bytes of posted stores to host memory")),
      cache_hits_(stats_.counter("cache_hits", "loads", "Loads of lines this CPU stored to, served by its cache")) {}

void HostPort::access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len) {
  tlm::tlm_generic_payload t;
  setup_payload(t, cmd, addr, data, len);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(t, delay);
  latency_.sample(delay.value());
  sc_core::wait(delay);
  if (t.get_response_status() != tlm::TLM_OK_RESPONSE)
    throw std::runtime_error("host access to 0x" + std::to_string(addr) + " failed");
}

uint64_t HostPort::read(uint64_t addr, unsigned len) {
  uint64_t v = 0;
  ++reads_;
  access(tlm::TLM_READ_COMMAND, addr, reinterpret_cast<uint8_t*>(&v), len);
  return v;
}

void HostPort::write(uint64_t addr, unsigned len, uint64_t value) {
  ++writes_;
  access(tlm::TLM_WRITE_COMMAND, addr, reinterpret_cast<uint8_t*>(&value), len);
}

bool HostPort::mem_read(uint64_t addr, void* dst, unsigned len) {
  ++mem_reads_;
  tlm::tlm_generic_payload t;
  setup_payload(t, tlm::TLM_READ_COMMAND, addr, static_cast<uint8_t*>(dst), len);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(t, delay);
  sc_core::wait(delay);
  return t.is_response_ok();
}

bool HostPort::mem_write(uint64_t addr, const void* src, unsigned len) {
  ++mem_writes_;
  mem_bytes_written_ += len;
  tlm::tlm_generic_payload t;
  setup_payload(t, tlm::TLM_WRITE_COMMAND, addr, static_cast<uint8_t*>(const_cast<void*>(src)), len);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(t, delay);  // posted: the thread does not wait for `delay`
  if (!t.is_response_ok()) return false;
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (unsigned done = 0; done < len;) {
    const uint64_t a = addr + done;
    const uint64_t page = a & ~0xFFFULL;
    const unsigned n = static_cast<unsigned>(std::min<uint64_t>(len - done, page + 4096 - a));
    auto& line = cached_[page];
    if (!line) {
      line = std::make_unique<uint8_t[]>(4096);
      tlm::tlm_generic_payload fill;  // the rest of the page as memory has it (debug read: no time)
      setup_payload(fill, tlm::TLM_READ_COMMAND, page, line.get(), 4096);
      socket->transport_dbg(fill);
    }
    std::memcpy(line.get() + (a - page), bytes + done, n);
    done += n;
  }
  return true;
}

bool HostPort::cached_load(uint64_t addr, void* dst, unsigned len) {
  const uint64_t page = addr & ~0xFFFULL;
  auto it = cached_.find(page);
  if (it == cached_.end() || (addr + len) > page + 4096) return mem_read(addr, dst, len);
  ++cache_hits_;
  std::memcpy(dst, it->second.get() + (addr - page), len);
  return true;
}

}  // namespace vfiosim
