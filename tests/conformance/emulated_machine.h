// The emulated-IOMMU test driver of the conformance tests, on the shared test machine
// (tests/support/machine.h, one DMA engine at 01:00.0 unless a test builds another): an mdev-like
// vfio_device registered through vfio_register_emulated_iommu_dev on a parent device that is not
// PCI, "emul0", under the engine, with helpers for the container calls it is tested with.
#pragma once

#include <linux/vfio.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/machine.h"
#include "tests/support/sc_test.h"

namespace vfiosim::emulated_test {

using namespace vfiosim::kernel;
using nlohmann::json;

struct emul_device {
  vfio_device vdev;
  uint64_t pinned_iova = 0;
  int pinned = 0;
  int unmap_calls = 0;
};

struct Machine : support::Machine {
  vfio_device_ops ops;
  emul_device* emul = nullptr;
  std::vector<device*> parents;  // from emul_parent(), put when the Machine goes
  explicit Machine(const support::MachineBuilder& b = support::one_engine()) : support::Machine(b) {
    ops.name = "vfio-emul-test";
    ops.release = [](vfio_device& d) { Vfio::vfio_free_device(&d); };
    ops.dma_unmap = [this](vfio_device& d, uint64_t iova, uint64_t length) {
      auto& e = *reinterpret_cast<emul_device*>(&d);
      ++e.unmap_calls;
      if (e.pinned && e.pinned_iova >= iova && e.pinned_iova < iova + length) {
        vfio().vfio_unpin_pages(&d, e.pinned_iova, e.pinned);  // drivers must unpin here
        e.pinned = 0;
      }
    };
  }
  ~Machine() override {
    for (device* d : parents) put_device(d);
  }
  /// A parent for an emulated vfio_device, as an mdev is one: a struct device on no bus, named
  /// `name` (which VFIO_GROUP_GET_DEVICE_FD asks for), under the DMA engine.
  device* emul_parent(const std::string& name) {
    auto* d = new device();
    device_initialize(d);
    d->init_name = name;
    pci_dev* engine = pci().core().find("0000:01:00.0");
    d->parent = engine ? &engine->dev : nullptr;
    d->release = [](device* p) { delete p; };
    parents.push_back(d);
    return d;
  }
  // An emulated device on the parent "emul0" (unless a test registered `emul` already), its
  // group in a container of `model`, and its device fd (asked for by the parent's name).
  VfioFds setup(Task& t, unsigned model) {
    if (!emul) {
      int err = 0;
      emul = vfio().vfio_alloc_device<emul_device>(emul_parent("emul0"), &ops, &err);
      EXPECT_EQ(vfio().vfio_register_emulated_iommu_dev(&emul->vdev), 0);
    }
    return open_device(t, "/dev/vfio/" + emul->vdev.group->name, dev_name(emul->vdev.dev), model);
  }
  /// VFIO_IOMMU_DIRTY_PAGES with just the header (START, STOP).
  long dirty(Task& t, int c, uint32_t flags) {
    vfio_iommu_type1_dirty_bitmap d{};
    d.argsz = sizeof d;
    d.flags = flags;
    return sys().ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(&d, sizeof d));
  }
  /// GET_BITMAP of [iova, iova + size) into a fresh zeroed user bitmap; returns the ioctl result
  /// and the first bitmap word.
  std::pair<long, uint64_t> get_bitmap(Task& t, int c, uint64_t iova, uint64_t size, uint64_t pgsize = 4096,
                                       uint32_t argsz = 0) {
    const uint64_t bits = t.alloc_arg(std::vector<uint8_t>(64).data(), 64);
    uint8_t a[8 + sizeof(vfio_iommu_type1_dirty_bitmap_get)] = {};
    const uint32_t h[2] = {argsz ? argsz : static_cast<uint32_t>(sizeof a), VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP};
    vfio_iommu_type1_dirty_bitmap_get g{};
    g.iova = iova;
    g.size = size;
    g.bitmap.pgsize = pgsize;
    g.bitmap.size = 64;
    g.bitmap.data = reinterpret_cast<__u64*>(bits);
    std::memcpy(a, h, 8);
    std::memcpy(a + 8, &g, sizeof g);
    const long r = sys().ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(a, sizeof a));
    uint64_t w = 0;
    t.copy_from_user(&w, bits, 8);
    return {r, w};
  }
  /// VFIO_IOMMU_GET_INFO with room for every capability: the header, and the whole reply in `buf`.
  vfio_iommu_type1_info get_info(Task& t, int c, std::vector<uint8_t>& buf) {
    buf.assign(4096, 0);
    vfio_iommu_type1_info info{};
    info.argsz = static_cast<uint32_t>(buf.size());
    std::memcpy(buf.data(), &info, sizeof info);
    const uint64_t arg = t.alloc_arg(buf.data(), buf.size());
    EXPECT_EQ(sys().ioctl(t, c, VFIO_IOMMU_GET_INFO, arg), 0);
    t.copy_from_user(buf.data(), arg, buf.size());
    std::memcpy(&info, buf.data(), sizeof info);
    return info;
  }
  /// The DMA_AVAIL capability of VFIO_IOMMU_GET_INFO.
  uint32_t dma_avail(Task& t, int c) {
    std::vector<uint8_t> buf;
    const vfio_iommu_type1_info info = get_info(t, c, buf);
    for (uint32_t off = info.cap_offset; off;) {
      vfio_info_cap_header h;
      std::memcpy(&h, buf.data() + off, sizeof h);
      if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
        vfio_iommu_type1_info_dma_avail a;
        std::memcpy(&a, buf.data() + off, sizeof a);
        return a.avail;
      }
      off = h.next;
    }
    ADD_FAILURE() << "no DMA_AVAIL capability";
    return 0;
  }
  // The test driver pins `n` pages at `iova` and remembers them, so its dma_unmap can unpin;
  // returns vfio_pin_pages()' result and the first page's physical address in `phys`.
  int pin(uint64_t iova, int n, uint64_t* phys = nullptr) {
    std::vector<uint64_t> pages;
    const int r = vfio().vfio_pin_pages(&emul->vdev, iova, n, IOMMU_READ, &pages);
    if (r == n) {
      emul->pinned_iova = iova;
      emul->pinned = n;
      if (phys) *phys = pages[0];
    }
    return r;
  }
  void unpin() {
    vfio().vfio_unpin_pages(&emul->vdev, emul->pinned_iova, emul->pinned);
    emul->pinned = 0;
  }
  void teardown(Task& t) {
    t.close_all();
    { CurrentScope s(t); }
    vfio().vfio_unregister_group_dev(&emul->vdev);
    vfio().vfio_put_device(&emul->vdev);
  }
};

inline constexpr uint32_t RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

}  // namespace vfiosim::emulated_test
