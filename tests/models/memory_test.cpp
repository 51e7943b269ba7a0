// Memory model at the TLM level: data moves, timing follows the documented bus + latency model
// (checked against hand-computed cycle times), errors are responses rather than crashes.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/memory/memory.h"
#include "sim/base/tlm_util.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;

namespace {

// Hand calculation of "cycle n starts at ceil(n * 1e12 / f) ps", independent of ClockDomain.
uint64_t ps_at(uint64_t cycle, uint64_t mhz) { return (cycle * 1000000 + mhz - 1) / mhz; }

struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> socket{"socket"};
  explicit Initiator(const sc_core::sc_module_name& n) : sc_module(n) {}

  // Issues one access at the current time; returns completion time in ps and the response.
  std::pair<uint64_t, tlm::tlm_response_status> access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data,
                                                       unsigned len) {
    tlm::tlm_generic_payload t;
    setup_payload(t, cmd, addr, data, len);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(t, delay);
    return {(sc_core::sc_time_stamp() + delay).value(), t.get_response_status()};
  }
};

struct Bench {
  stats::Group root{"system"};
  MemoryParams params;
  std::unique_ptr<Memory> mem;
  Initiator init{"init"};
  explicit Bench(MemoryParams p) : params(p) {
    mem = std::make_unique<Memory>("memory", params, root);
    init.socket.bind(mem->port);
  }
};

MemoryParams params(uint64_t mhz, uint64_t latency, uint64_t width) {
  MemoryParams p;
  p.size = 1ULL << 30;
  p.clock_mhz = mhz;
  p.latency_cycles = latency;
  p.bytes_per_cycle = width;
  return p;
}

}  // namespace

TEST(Memory, SingleReadTakesBeatsPlusLatency) {
  Bench b(params(1200, 96, 16));
  uint64_t done = 0;
  sctest::run_in_thread([&] {
    uint8_t buf[64];
    done = b.init.access(tlm::TLM_READ_COMMAND, 0x1000, buf, 64).first;
  });
  EXPECT_EQ(done, ps_at(4 + 96, 1200));  // 64 B / 16 B per cycle = 4 beats
}

TEST(Memory, BackToBackRequestsQueueOnTheDataBus) {
  Bench b(params(1000, 10, 8));
  std::vector<uint64_t> done;
  sctest::run_in_thread([&] {
    uint8_t buf[64];
    for (int i = 0; i < 3; ++i) done.push_back(b.init.access(tlm::TLM_WRITE_COMMAND, 0x2000 + 64 * i, buf, 64).first);
  });
  // 8 beats each, served in order from cycle 0: bus slots end at 8, 16, 24, plus 10 cycles.
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0], ps_at(18, 1000));
  EXPECT_EQ(done[1], ps_at(26, 1000));
  EXPECT_EQ(done[2], ps_at(34, 1000));
  const auto* qd = dynamic_cast<const stats::Histogram*>(b.root.lookup("memory.queue_delay"));
  ASSERT_NE(qd, nullptr);
  EXPECT_EQ(qd->dist().max(), ps_at(16, 1000));  // the third waited 16 cycles
}

TEST(Memory, RequestArrivingOffBoundaryStartsAtNextMemoryCycle) {
  Bench b(params(1200, 1, 64));
  uint64_t done = 0;
  sctest::run_in_thread([&] {
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));  // 1000 ps: cycle 1 starts at 834, cycle 2 at 1667
    uint8_t buf[64];
    done = b.init.access(tlm::TLM_READ_COMMAND, 0, buf, 64).first;
  });
  EXPECT_EQ(done, ps_at(2 + 1 + 1, 1200));
}

TEST(Memory, WrittenDataReadsBackAndUntouchedReadsZero) {
  Bench b(params(1200, 96, 16));
  std::vector<uint8_t> in(256), out(256, 0xff), zero(256, 0xee);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 1);
  sctest::run_in_thread([&] {
    EXPECT_EQ(b.init.access(tlm::TLM_WRITE_COMMAND, 0x3ff80, in.data(), 256).second, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.init.access(tlm::TLM_READ_COMMAND, 0x3ff80, out.data(), 256).second, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.init.access(tlm::TLM_READ_COMMAND, 0x800000, zero.data(), 256).second, tlm::TLM_OK_RESPONSE);
  });
  EXPECT_EQ(in, out);
  EXPECT_EQ(zero, std::vector<uint8_t>(256, 0));
  EXPECT_EQ(b.mem->store().pages_allocated(), 2u);  // the write straddled one page boundary
  const auto* wr = dynamic_cast<const stats::Counter*>(b.root.lookup("memory.bytes_written"));
  const auto* rd = dynamic_cast<const stats::Counter*>(b.root.lookup("memory.bytes_read"));
  EXPECT_EQ(wr->value(), 256u);
  EXPECT_EQ(rd->value(), 512u);
}

TEST(Memory, OutOfRangeAccessIsAnAddressErrorAndSimulationGoesOn) {
  Bench b(params(1000, 20, 16));
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  uint64_t done = 0;
  uint64_t later = 0;
  sctest::run_in_thread([&] {
    uint8_t buf[64] = {};
    std::tie(done, status) = b.init.access(tlm::TLM_WRITE_COMMAND, (1ULL << 30) - 32, buf, 64);
    later = b.init.access(tlm::TLM_READ_COMMAND, 0, buf, 64).first;
  });
  EXPECT_EQ(status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(done, ps_at(20, 1000));  // latency only, no data-bus slot
  EXPECT_EQ(later, ps_at(4 + 20, 1000));
  EXPECT_EQ(dynamic_cast<const stats::Counter*>(b.root.lookup("memory.address_errors"))->value(), 1u);
  EXPECT_EQ(b.mem->store().pages_allocated(), 0u);
}

TEST(Memory, DebugTransportMovesDataWithoutTime) {
  Bench b(params(1000, 20, 16));
  uint8_t in[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, out[16] = {};
  tlm::tlm_generic_payload t;
  t.set_command(tlm::TLM_WRITE_COMMAND);
  t.set_address(0x5000);
  t.set_data_ptr(in);
  t.set_data_length(16);
  t.set_streaming_width(16);
  unsigned moved = 0;
  // Multi-sockets finish binding at the end of elaboration, so access from a running thread.
  const auto end = sctest::run_in_thread([&] { moved = b.init.socket->transport_dbg(t); });
  EXPECT_EQ(moved, 16u);
  EXPECT_TRUE(b.mem->backdoor_read(0x5000, out, 16));
  EXPECT_EQ(0, std::memcmp(in, out, 16));
  EXPECT_EQ(end, sc_core::SC_ZERO_TIME);
  EXPECT_EQ(dynamic_cast<const stats::Counter*>(b.root.lookup("memory.writes"))->value(), 0u);
}

TEST(Memory, UtilisationIsBusyCyclesOverElapsedCycles) {
  Bench b(params(1000, 10, 16));
  sctest::run_in_thread([&] {
    uint8_t buf[160];
    b.init.access(tlm::TLM_READ_COMMAND, 0, buf, 160);  // 10 beats
    sc_core::wait(sc_core::sc_time(40, sc_core::SC_NS));
  });
  b.mem->finalize(sc_core::sc_time_stamp());
  const auto* u = dynamic_cast<const stats::Gauge*>(b.root.lookup("memory.bus_utilisation"));
  EXPECT_DOUBLE_EQ(u->value(), 10.0 / 40.0);
}
