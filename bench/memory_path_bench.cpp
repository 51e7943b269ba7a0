// Simulator speed of the DMA master -> memory path, in simulated requests per host second, next
// to the SystemC floor (an AT 4-phase loop). Run: build/bench/bench_memory_path
#include <cstdlib>
#include <memory>

#include <benchmark/benchmark.h>
#include <systemc>

#include "models/memory/memory.h"
#include "models/traffic/dma_master.h"
#include "systemc_floor.h"

using namespace vfiosim;

namespace {

struct Path {
  stats::Group root{"system"};
  std::unique_ptr<Memory> memory;
  std::unique_ptr<DmaMaster> dma;
};
Path* g_path = nullptr;

// A driver thread that runs one workload each time `go` fires, so every benchmark iteration is
// one sc_start() of an already elaborated platform (SystemC elaborates once per process).
struct Driver : sc_core::sc_module {
  sc_core::sc_event go;
  Workload work;
  SC_HAS_PROCESS(Driver);
  explicit Driver(const sc_core::sc_module_name& n) : sc_module(n) { SC_THREAD(loop); }
  void loop() {
    for (;;) {
      sc_core::wait(go);
      g_path->dma->run(work);
    }
  }
};
Driver* g_driver = nullptr;

}  // namespace

void bench::elaborate_all() {
  static bool done = false;
  if (done) return;
  done = true;
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  g_path = new Path;
  MemoryParams mp;
  mp.size = 1ULL << 32;
  g_path->memory = std::make_unique<Memory>("memory", mp, g_path->root);
  DmaMasterParams dp;
  dp.name = "dma0";
  g_path->dma = std::make_unique<DmaMaster>("dma0", dp, g_path->root, 1, nullptr);
  g_path->dma->port.bind(g_path->memory->port);
  g_driver = new Driver("driver");
  bench::elaborate_floor();
}

namespace {

void BM_DmaMasterToMemory(benchmark::State& state) {
  bench::elaborate_all();
  Workload& w = g_driver->work;
  w.direction = state.range(0) ? DmaDirection::Write : DmaDirection::Read;
  w.pattern = AddressPattern::Random;
  w.size = 64;
  w.count = 10000;
  w.outstanding = static_cast<uint64_t>(state.range(1));
  w.address = 0;
  w.window = 64 << 20;
  for (auto _ : state) {
    g_driver->go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.count));
}
BENCHMARK(BM_DmaMasterToMemory)->ArgNames({"write", "outstanding"})->Args({0, 1})->Args({0, 32})->Args({1, 32})
    ->Unit(benchmark::kMillisecond);

}  // namespace
