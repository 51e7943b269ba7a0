// DMA isolation as a property (the reliability issue): two processes, each with its own
// container and a DMA engine on vfio-pci, make random MAP_DMA (some failing at RLIMIT_MEMLOCK),
// UNMAP_DMA and single-request device reads and writes at random IOVAs. A shadow of every
// container's permitted IOVA page -> buffer page says what each DMA may reach: a DMA succeeds
// exactly when its page is mapped in its own container (anything else is an isolation escape or a
// lost mapping), a permitted write lands in the shadow's page, and at the end no buffer page that
// no permitted write targeted holds anything but zeros. VFIOSIM_ISOLATION_OPS sets the number of
// operations (default 10^4; the benchmark-length job runs 10^6).
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "tests/conformance/emulated_machine.h"

#include "models/pci/dma_engine_regs.h"

using namespace vfiosim;
using namespace vfiosim::kernel;
using namespace vfiosim::emulated_test;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBufPages = 64;
constexpr uint64_t kIovaPages = 128;
constexpr uint64_t kRegionShift = 40;  // VFIO_PCI_OFFSET_SHIFT

struct Proc {
  Machine* m = nullptr;
  Task* t = nullptr;
  int container = -1, group = -1, device = -1;
  uint64_t buf = 0;
  uint64_t arg = 0;  // 8 bytes of user memory for register values (one area, reused)
  std::map<uint64_t, uint64_t> shadow;                  // iova page -> buffer page
  std::vector<std::pair<uint64_t, uint64_t>> mappings;  // (first iova page, pages)
  std::set<uint64_t> written;                           // buffer pages a permitted write reached
};

// pwrite64/pread64 of `size` bytes at `off` in region `index` of the device fd, through `arg`.
long region_rw(Machine& m, Task& t, uint64_t arg, int fd, unsigned index, uint64_t off, uint64_t value, unsigned size,
               bool write, uint64_t* out = nullptr) {
  t.copy_to_user(arg, &value, 8);
  const int64_t pos = static_cast<int64_t>((uint64_t{index} << kRegionShift) + off);
  const long r = write ? m.sys().pwrite64(t, fd, arg, size, pos) : m.sys().pread64(t, fd, arg, size, pos);
  if (out) {
    *out = 0;
    t.copy_from_user(out, arg, size);
  }
  return r;
}

// One request of 256 bytes at `iova` through the engine's registers; true when it completed
// without an error response.
bool device_dma(Proc& p, uint64_t iova, bool write, uint32_t seed) {
  using namespace vfiosim::pci::dmae;
  Task& t = *p.t;
  const unsigned bar = VFIO_PCI_BAR0_REGION_INDEX;
  region_rw(*p.m, t, p.arg, p.device, bar, ADDR, iova, 8, true);
  region_rw(*p.m, t, p.arg, p.device, bar, WINDOW, 256, 8, true);
  region_rw(*p.m, t, p.arg, p.device, bar, SIZE, 256, 4, true);
  region_rw(*p.m, t, p.arg, p.device, bar, COUNT, 1, 8, true);
  region_rw(*p.m, t, p.arg, p.device, bar, OUTSTANDING, 1, 4, true);
  region_rw(*p.m, t, p.arg, p.device, bar, DATA_SEED, seed, 4, true);
  region_rw(*p.m, t, p.arg, p.device, bar, CONTROL, write ? uint64_t{CTRL_WRITE} : uint64_t{0}, 4, true);
  region_rw(*p.m, t, p.arg, p.device, bar, DOORBELL, 1, 4, true);
  uint64_t status = 0;
  for (int i = 0; i < 100000 && !(status & STATUS_DONE); ++i) {
    region_rw(*p.m, t, p.arg, p.device, bar, STATUS, 0, 4, false, &status);
    if (!(status & STATUS_DONE)) sc_core::wait(1, sc_core::SC_US);
  }
  EXPECT_TRUE(status & STATUS_DONE) << "the job did not finish";
  uint64_t errors = 0;
  region_rw(*p.m, t, p.arg, p.device, bar, RES_ERRORS, 0, 8, false, &errors);
  region_rw(*p.m, t, p.arg, p.device, bar, STATUS, STATUS_DONE | STATUS_ERROR, 4, true);  // acknowledge
  return errors == 0;
}

Proc open_device(Machine& m, const std::string& task, const std::string& bdf) {
  m.to_vfio_pci(bdf);
  Proc p;
  p.m = &m;
  p.t = &m.task(task);
  Task& t = *p.t;
  const auto fds = m.open_device(t, m.group_path(bdf), bdf);
  p.container = fds.container;
  p.group = fds.group;
  p.device = fds.device;
  EXPECT_GE(p.device, 0);
  const uint64_t zero = 0;
  p.arg = t.alloc_arg(&zero, 8);
  region_rw(*p.m, t, p.arg, p.device, VFIO_PCI_CONFIG_REGION_INDEX, 4, 6, 2, true);  // memory decode, bus master
  p.buf = t.mmap_anonymous(kBufPages * kPage, false);
  return p;
}

uint64_t ops_from_env() {
  const char* v = std::getenv("VFIOSIM_ISOLATION_OPS");
  return v ? std::strtoull(v, nullptr, 10) : 10000;
}

}  // namespace

TEST(VfioIsolationProperty, NoDmaReachesAPageOutsideItsContainersLiveMappings) {
  Machine m(support::MachineBuilder().engine("00:01.0", "01:00.0").engine("00:02.0", "02:00.0"));
  const uint64_t ops = ops_from_env();
  uint64_t dmas = 0, denied = 0, escapes = 0, lost = 0, misplaced = 0, failed_maps = 0, stray = 0;
  sctest::run_in_thread([&] {
    m.boot();
    std::mt19937_64 rng(20261204);
    auto pick = [&](uint64_t n) { return n ? rng() % n : 0; };
    Proc procs[2] = {open_device(m, "a", "0000:01:00.0"), open_device(m, "b", "0000:02:00.0")};
    for (uint64_t op = 0; op < ops; ++op) {
      Proc& p = procs[pick(2)];
      Task& t = *p.t;
      const uint64_t kind = pick(10);
      if (kind < 3) {  // MAP_DMA of 1-8 pages; sometimes with the limit just below what it needs
        const uint64_t n = 1 + pick(8), iova = pick(kIovaPages - n + 1), vpage = pick(kBufPages - n + 1);
        bool overlap = false;
        for (uint64_t i = 0; i < n; ++i) overlap |= p.shadow.count(iova + i) != 0;
        const bool starve = pick(4) == 0;
        const uint64_t locked = t.mm()->locked_vm;
        t.rlimit_memlock = starve ? (locked + pick(n)) * kPage : 64ULL << 20;
        const long r = m.map_dma(t, p.container, p.buf + vpage * kPage, iova * kPage, n * kPage, RW);
        if (!overlap && !starve) {
          EXPECT_EQ(r, 0);
        }
        if (overlap) {
          EXPECT_EQ(r, -EEXIST);
        }
        if (r == 0) {
          for (uint64_t i = 0; i < n; ++i) p.shadow[iova + i] = vpage + i;
          p.mappings.push_back({iova, n});
        } else {
          ++failed_maps;
        }
      } else if (kind < 5) {  // UNMAP_DMA of one whole mapping
        if (p.mappings.empty()) continue;
        const size_t k = pick(p.mappings.size());
        const auto [iova, n] = p.mappings[k];
        const auto u = m.unmap_dma(t, p.container, iova * kPage, n * kPage);
        EXPECT_EQ(u.ret, 0);
        EXPECT_EQ(u.size, n * kPage);
        for (uint64_t i = 0; i < n; ++i) p.shadow.erase(iova + i);
        p.mappings.erase(p.mappings.begin() + static_cast<long>(k));
      } else {  // one device request at a random IOVA page (and 256-byte slot)
        // Half the time a page the shadow has mapped, so permitted DMAs are as common as denied.
        uint64_t page = pick(kIovaPages);
        if (!p.shadow.empty() && pick(2)) page = std::next(p.shadow.begin(), static_cast<long>(pick(p.shadow.size())))->first;
        const uint64_t slot = pick(kPage / 256);
        const bool write = pick(2);
        const bool ok = device_dma(p, page * kPage + slot * 256, write, static_cast<uint32_t>(op + 1));
        ++dmas;
        const auto it = p.shadow.find(page);
        if (it == p.shadow.end()) {
          escapes += ok;
          denied += !ok;
          continue;
        }
        lost += !ok;
        if (ok && write) {
          uint8_t data[256];
          t.copy_from_user(data, p.buf + it->second * kPage + slot * 256, sizeof data);
          bool any = false;
          for (uint8_t b : data) any |= b != 0;
          misplaced += !any;  // the write went somewhere else
          p.written.insert(it->second);
        }
      }
    }
    for (Proc& p : procs) {  // nothing but permitted writes touched the buffers
      std::vector<uint8_t> page(kPage);
      for (uint64_t v = 0; v < kBufPages; ++v) {
        if (p.written.count(v)) continue;
        p.t->copy_from_user(page.data(), p.buf + v * kPage, kPage);
        for (uint8_t b : page) stray += b != 0;
      }
    }
    for (Proc& p : procs) p.t->close_all();
    { CurrentScope s(*procs[0].t); }
    { CurrentScope s(*procs[1].t); }
    m.kernel().shutdown();
  });
  RecordProperty("dmas", std::to_string(dmas));
  RecordProperty("denied", std::to_string(denied));
  std::printf("isolation: %llu operations, %llu DMAs (%llu denied, all faulted), %llu failed maps\n",
              static_cast<unsigned long long>(ops), static_cast<unsigned long long>(dmas),
              static_cast<unsigned long long>(denied), static_cast<unsigned long long>(failed_maps));
  EXPECT_EQ(escapes, 0u) << "DMAs to unmapped IOVAs that succeeded";
  EXPECT_EQ(lost, 0u) << "DMAs to mapped IOVAs that faulted";
  EXPECT_EQ(misplaced, 0u) << "permitted writes that did not land in the mapped page";
  EXPECT_EQ(stray, 0u) << "bytes written outside every permitted write's page";
  EXPECT_GT(dmas, ops / 3);
  EXPECT_GT(denied, 0u);
  EXPECT_LT(denied, dmas);
  EXPECT_GT(failed_maps, 0u);
  for (const auto& l : m.kernel().leaks()) ADD_FAILURE() << l;
}
