// A platform with one DMA engine (01:00.0) and an in-simulator emulated-IOMMU test driver (an
// mdev-like vfio_device registered through vfio_register_emulated_iommu_dev on a parent device
// that is not PCI, "emul0", under the engine), shared by the emulated-IOMMU conformance tests.
#pragma once

#include <linux/vfio.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sim/app/platform.h"
#include "sim/config/spec.h"
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

struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Platform> platform;
  vfio_device_ops ops;
  emul_device* dev = nullptr;
  std::vector<device*> parents;  // from emul_parent(), put when the Machine goes
  /// `root_ports`: the PCI topology (default: one root port with the DMA engine at 01:00.0).
  explicit Machine(const json& iommu = {{"preset", "broadwell-vtd"}}, const json& kernel = json::object(),
                   const json& root_ports = {{{"bdf", "00:01.0"}, {"children", {{{"bdf", "01:00.0"}, {"model", "dma-engine"}}}}}}) {
    const json p = {{"memory", {{"size", "4GiB"}}},
                    {"iommu", iommu},
                    {"kernel", kernel},
                    {"pci", {{"root_ports", root_ports}}}};
    platform = std::make_unique<Platform>(
        "system", PlatformConfig::from(config::resolve_document(PlatformConfig::spec(), PlatformConfig::expand_presets(p))),
        root, 1, nullptr);
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
  ~Machine() {
    for (device* d : parents) put_device(d);
  }
  Vfio& vfio() { return platform->pci()->vfio(); }
  /// A parent for an emulated vfio_device, as an mdev is one: a struct device on no bus, named
  /// `name` (which VFIO_GROUP_GET_DEVICE_FD asks for), under the DMA engine.
  device* emul_parent(const std::string& name) {
    auto* d = new device();
    device_initialize(d);
    d->init_name = name;
    pci_dev* engine = platform->pci()->kernel().find("0000:01:00.0");
    d->parent = engine ? &engine->dev : nullptr;
    d->release = [](device* p) { delete p; };
    parents.push_back(d);
    return d;
  }
  long sys_ioctl(Task& t, int fd, unsigned cmd, uint64_t arg) {
    CurrentScope s(t);
    file* f = t.fget(fd);
    const long r = f->f_op->unlocked_ioctl(*f, cmd, arg);
    fput(f);
    return r;
  }
  // An emulated device on the parent "emul0" (unless a test registered `dev` already), its group
  // in a container of `model`, and its device fd (asked for by the parent's name).
  struct Setup {
    int container = -1, group = -1, device = -1;
  };
  Setup setup(Task& t, unsigned model) {
    PciPlatform& pci = *platform->pci();
    if (!dev) {
      int err = 0;
      dev = vfio().vfio_alloc_device<emul_device>(emul_parent("emul0"), &ops, &err);
      EXPECT_EQ(vfio().vfio_register_emulated_iommu_dev(&dev->vdev), 0);
    }
    const std::string node = "/dev/vfio/" + dev->vdev.group->name;
    Setup s;
    {
      CurrentScope cs(t);
      s.container = pci.vfs().open(t, "/dev/vfio/vfio");
      s.group = pci.vfs().open(t, node);
    }
    EXPECT_EQ(sys_ioctl(t, s.group, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&s.container, sizeof s.container)), 0);
    EXPECT_EQ(sys_ioctl(t, s.container, VFIO_SET_IOMMU, model), 0);
    const std::string name = dev_name(dev->vdev.dev);
    s.device = static_cast<int>(sys_ioctl(t, s.group, VFIO_GROUP_GET_DEVICE_FD, t.alloc_arg(name.c_str(), name.size() + 1)));
    return s;
  }
  long map(Task& t, int c, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) {
    vfio_iommu_type1_dma_map m{};
    m.argsz = sizeof m;
    m.flags = flags;
    m.vaddr = vaddr;
    m.iova = iova;
    m.size = size;
    return sys_ioctl(t, c, VFIO_IOMMU_MAP_DMA, t.alloc_arg(&m, sizeof m));
  }
  struct unmap_result {
    long ret;
    uint64_t size;
  };
  unmap_result unmap(Task& t, int c, uint64_t iova, uint64_t size, uint32_t flags = 0) {
    vfio_iommu_type1_dma_unmap u{};
    u.argsz = sizeof u;
    u.flags = flags;
    u.iova = iova;
    u.size = size;
    const uint64_t arg = t.alloc_arg(&u, sizeof u);
    const long r = sys_ioctl(t, c, VFIO_IOMMU_UNMAP_DMA, arg);
    t.copy_from_user(&u, arg, sizeof u);
    return {r, u.size};
  }
  /// VFIO_IOMMU_DIRTY_PAGES with just the header (START, STOP).
  long dirty(Task& t, int c, uint32_t flags) {
    vfio_iommu_type1_dirty_bitmap d{};
    d.argsz = sizeof d;
    d.flags = flags;
    return sys_ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(&d, sizeof d));
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
    const long r = sys_ioctl(t, c, VFIO_IOMMU_DIRTY_PAGES, t.alloc_arg(a, sizeof a));
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
    EXPECT_EQ(sys_ioctl(t, c, VFIO_IOMMU_GET_INFO, arg), 0);
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
    const int r = vfio().vfio_pin_pages(&dev->vdev, iova, n, IOMMU_READ, &pages);
    if (r == n) {
      dev->pinned_iova = iova;
      dev->pinned = n;
      if (phys) *phys = pages[0];
    }
    return r;
  }
  void unpin() {
    vfio().vfio_unpin_pages(&dev->vdev, dev->pinned_iova, dev->pinned);
    dev->pinned = 0;
  }
  void teardown(Task& t) {
    t.close_all();
    { CurrentScope s(t); }
    vfio().vfio_unregister_group_dev(&dev->vdev);
    vfio().vfio_put_device(&dev->vdev);
  }
};

inline constexpr uint32_t RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;


}  // namespace vfiosim::emulated_test
