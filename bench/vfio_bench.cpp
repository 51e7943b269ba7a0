// Simulator speed of the type1 MAP/UNMAP path: VFIO_IOMMU_MAP_DMA then VFIO_IOMMU_UNMAP_DMA of N
// 4 KiB mappings through the system-call layer of a simulated process (the syscall entry,
// pinning, iommu_map into the VT-d driver's page tables, strict invalidation on unmap), host time
// per map+unmap pair. Goal
// (VFIO issue): the per-operation host cost at 64 Ki mappings is at most 2x that at 1 Ki.
// Run: build/bench/bench_vfio
#include <linux/vfio.h>

#include <cstdlib>
#include <memory>

#include <benchmark/benchmark.h>
#include <systemc>

#include "sim/app/platform.h"
#include "sim/config/spec.h"
#include "systemc_floor.h"

using namespace vfiosim;
using namespace vfiosim::kernel;

namespace {

struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Platform> platform;
  sc_core::sc_event go;
  uint64_t n = 0;
  int container = -1;
  uint64_t buf = 0;
};
Machine* g = nullptr;

// Sets up a type1v2 container with the device's group, then runs one batch per `go`.
void driver() {
  g->platform->wait_until_booted();
  PciPlatform& pci = *g->platform->pci();
  pci_driver* dmae = pci.drivers().find_driver("vfiosim-dmae");
  pci_dev& dev = *pci.core().find("0000:01:00.0");
  pci.drivers().unbind(*dmae, dev);
  pci.drivers().set_driver_override(dev, "vfio-pci");
  pci.drivers().probe_device(dev);
  Task& t = pci.kernel().task("bench");
  t.set_cap(CAP_IPC_LOCK, true);
  Syscalls& sys = pci.kernel().syscalls();
  const int c = static_cast<int>(sys.open(t, "/dev/vfio/vfio"));
  const int grp = static_cast<int>(sys.open(t, "/dev/vfio/1"));
  sys.ioctl(t, grp, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&c, sizeof c));
  sys.ioctl(t, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  g->container = c;
  g->buf = t.mmap_anonymous(4096, false);
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = g->buf;
  map.size = 4096;
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.size = 4096;
  const uint64_t map_arg = t.alloc_arg(&map, sizeof map);
  const uint64_t unmap_arg = t.alloc_arg(&unmap, sizeof unmap);
  for (;;) {
    sc_core::wait(g->go);
    for (uint64_t i = 0; i < g->n; ++i) {  // N mappings of the same page at distinct IOVAs
      const uint64_t iova = 0x100000000ULL + i * 4096;
      t.copy_to_user(map_arg + offsetof(vfio_iommu_type1_dma_map, iova), &iova, 8);
      if (sys.ioctl(t, c, VFIO_IOMMU_MAP_DMA, map_arg)) std::abort();
    }
    for (uint64_t i = 0; i < g->n; ++i) {
      const uint64_t iova = 0x100000000ULL + i * 4096;
      t.copy_to_user(unmap_arg + offsetof(vfio_iommu_type1_dma_unmap, iova), &iova, 8);
      if (sys.ioctl(t, c, VFIO_IOMMU_UNMAP_DMA, unmap_arg)) std::abort();
    }
  }
}

}  // namespace

void bench::elaborate_all() {
  if (g) return;
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  g = new Machine;
  const nlohmann::json p = {{"memory", {{"size", "4GiB"}}},
                            {"iommu", {{"preset", "broadwell-vtd"}}},
                            {"pci", {{"root_ports", {{{"bdf", "00:01.0"}, {"children", {{{"bdf", "01:00.0"}, {"model", "dma-engine"}}}}}}}}}};
  g->platform = std::make_unique<Platform>(
      "system", PlatformConfig::from(config::resolve_document(PlatformConfig::spec(), PlatformConfig::expand_presets(p))),
      g->root, 1, nullptr);
  sc_core::sc_spawn(driver, "bench_driver");
  bench::elaborate_floor();
}

namespace {

// Items are map+unmap pairs.
void BM_Type1MapUnmap4K(benchmark::State& state) {
  bench::elaborate_all();
  g->n = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) {
    g->go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g->n));
}
BENCHMARK(BM_Type1MapUnmap4K)->ArgName("mappings")->Arg(1024)->Arg(65535)->Unit(benchmark::kMillisecond);

}  // namespace
