#include "systemc_floor.h"

#include <memory>

#include <benchmark/benchmark.h>

#include <systemc>
#include <tlm>
#include <tlm_utils/peq_with_get.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace vfiosim::bench {

namespace {

struct FloorTarget : sc_core::sc_module {
  tlm_utils::simple_target_socket<FloorTarget> socket{"socket"};
  tlm_utils::peq_with_get<tlm::tlm_generic_payload> peq{"peq"};

  SC_HAS_PROCESS(FloorTarget);
  explicit FloorTarget(const sc_core::sc_module_name& n) : sc_module(n) {
    socket.register_nb_transport_fw(this, &FloorTarget::fw);
    SC_THREAD(respond);
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& t, tlm::tlm_phase& ph, sc_core::sc_time& delay) {
    if (ph == tlm::BEGIN_REQ) {
      peq.notify(t, sc_core::sc_time(10, sc_core::SC_NS));
      ph = tlm::END_REQ;
      return tlm::TLM_UPDATED;
    }
    return tlm::TLM_COMPLETED;  // END_RESP
  }
  void respond() {
    for (;;) {
      sc_core::wait(peq.get_event());
      while (auto* t = peq.get_next_transaction()) {
        t->set_response_status(tlm::TLM_OK_RESPONSE);
        tlm::tlm_phase ph = tlm::BEGIN_RESP;
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        socket->nb_transport_bw(*t, ph, d);
      }
    }
  }
};

struct FloorInitiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<FloorInitiator> socket{"socket"};
  sc_core::sc_event go, done_one;
  uint64_t todo = 0;

  SC_HAS_PROCESS(FloorInitiator);
  explicit FloorInitiator(const sc_core::sc_module_name& n) : sc_module(n) {
    socket.register_nb_transport_bw(this, &FloorInitiator::bw);
    SC_THREAD(drive);
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload&, tlm::tlm_phase& ph, sc_core::sc_time&) {
    ph = tlm::END_RESP;
    done_one.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_COMPLETED;
  }
  void drive() {
    tlm::tlm_generic_payload t;
    uint8_t data[64] = {};
    for (;;) {
      sc_core::wait(go);
      for (; todo; --todo) {
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(0);
        t.set_data_ptr(data);
        t.set_data_length(64);
        t.set_streaming_width(64);
        tlm::tlm_phase ph = tlm::BEGIN_REQ;
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        socket->nb_transport_fw(t, ph, d);
        sc_core::wait(done_one);
      }
    }
  }
};

std::unique_ptr<FloorInitiator> g_init;
std::unique_ptr<FloorTarget> g_target;

}  // namespace

void elaborate_floor() {
  if (g_init) return;
  g_init = std::make_unique<FloorInitiator>("floor_initiator");
  g_target = std::make_unique<FloorTarget>("floor_target");
  g_init->socket.bind(g_target->socket);
}

void run_floor(uint64_t n) {
  g_init->todo = n;
  g_init->go.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();
}

namespace {
// The baseline every benchmark program reports next to its own numbers.
void BM_SystemCFloor_AT4Phase(benchmark::State& state) {
  elaborate_all();
  const uint64_t n = 20000;
  for (auto _ : state) run_floor(n);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_SystemCFloor_AT4Phase)->Unit(benchmark::kMillisecond);
}  // namespace

}  // namespace vfiosim::bench

int sc_main(int argc, char* argv[]) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
