#include "tests/support/machine.h"

#include <stdexcept>

#include <gtest/gtest.h>

#include "sim/app/pci_config.h"
#include "sim/config/spec.h"
#include "sim/stats/stats.h"

namespace vfiosim::support {

using namespace vfiosim::kernel;

MachineBuilder::MachineBuilder()
    : platform_({{"memory", {{"size", "4GiB"}}}, {"iommu", {{"preset", "broadwell-vtd"}}}}) {}

MachineBuilder& MachineBuilder::memory(const std::string& size) {
  platform_["memory"]["size"] = size;
  return *this;
}

MachineBuilder& MachineBuilder::iommu(const json& unit) {
  platform_.erase("iommus");
  platform_["iommu"] = unit;
  return *this;
}

MachineBuilder& MachineBuilder::units(const json& units) {
  platform_.erase("iommu");
  platform_["iommus"] = units;
  return *this;
}

MachineBuilder& MachineBuilder::no_iommu() {
  platform_.erase("iommu");
  platform_.erase("iommus");
  return *this;
}

MachineBuilder& MachineBuilder::kernel(const json& options) {
  if (!platform_.contains("kernel")) platform_["kernel"] = json::object();
  platform_["kernel"].merge_patch(options);
  return *this;
}

MachineBuilder& MachineBuilder::root_port(const std::string& bdf, json children) {
  platform_["pci"]["root_ports"].push_back({{"bdf", bdf}, {"children", std::move(children)}});
  return *this;
}

MachineBuilder& MachineBuilder::engine(const std::string& port, const std::string& bdf, const json& extra) {
  json ep = {{"bdf", bdf}, {"model", "dma-engine"}};
  ep.update(extra);
  return root_port(port, json::array({ep}));
}

MachineBuilder one_engine() { return MachineBuilder().engine("00:01.0", "01:00.0"); }

Machine::Machine(const MachineBuilder& b) {
  const json written = PlatformConfig::expand_presets(b.written());
  platform_ = std::make_unique<Platform>(
      "system", PlatformConfig::from(config::resolve_document(PlatformConfig::spec(), written)), root, 1, nullptr);
}

pci_dev& Machine::dev(const std::string& bdf) {
  const auto parsed = Bdf::parse(bdf);
  pci_dev* d = parsed ? pci().core().find(parsed->str()) : nullptr;
  if (!d) {
    ADD_FAILURE() << "no PCI device " << bdf;
    throw std::runtime_error("no PCI device " + bdf);
  }
  return *d;
}

std::string Machine::group_path(const std::string& bdf) {
  return "/dev/vfio/" + std::to_string(dev(bdf).dev.iommu_group->id);
}

void Machine::unbind(const std::string& bdf) {
  pci_dev& d = dev(bdf);
  if (pci_driver* drv = pci().drivers().driver_of(d)) pci().drivers().unbind(*drv, d);
}

int Machine::bind(const std::string& bdf, const std::string& driver) {
  pci_dev& d = dev(bdf);
  pci().drivers().set_driver_override(d, driver);
  return pci().drivers().probe_device(d);
}

int Machine::to_vfio_pci(const std::string& bdf) {
  unbind(bdf);
  return bind(bdf, "vfio-pci");
}

uint64_t Machine::counter(const std::string& path) const {
  const auto* s = dynamic_cast<const stats::Counter*>(root.lookup(path.substr(path.find('.') + 1)));
  return s ? s->value() : ~0ULL;
}

Machine::VfioFds Machine::open_container(Task& t, const std::string& group_path, unsigned model) {
  VfioFds f;
  f.container = static_cast<int>(sys().open(t, "/dev/vfio/vfio"));
  f.group = static_cast<int>(sys().open(t, group_path));
  EXPECT_GE(f.container, 0);
  EXPECT_GE(f.group, 0) << group_path;
  EXPECT_EQ(set_container(t, f.group, f.container), 0);
  EXPECT_EQ(sys().ioctl(t, f.container, VFIO_SET_IOMMU, model), 0);
  return f;
}

Machine::VfioFds Machine::open_device(Task& t, const std::string& group_path, const std::string& name, unsigned model) {
  VfioFds f = open_container(t, group_path, model);
  f.device = static_cast<int>(get_device_fd(t, f.group, name));
  return f;
}

long Machine::set_container(Task& t, int group, int container) {
  return sys().ioctl(t, group, VFIO_GROUP_SET_CONTAINER, t.alloc_arg(&container, sizeof container));
}

long Machine::get_device_fd(Task& t, int group, const std::string& name) {
  return sys().ioctl(t, group, VFIO_GROUP_GET_DEVICE_FD, t.alloc_arg(name.c_str(), name.size() + 1));
}

long Machine::map_dma(Task& t, int container, uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t flags) {
  vfio_iommu_type1_dma_map m{};
  m.argsz = sizeof m;
  m.flags = flags;
  m.vaddr = vaddr;
  m.iova = iova;
  m.size = size;
  return sys().ioctl(t, container, VFIO_IOMMU_MAP_DMA, t.alloc_arg(&m, sizeof m));
}

Machine::Unmapped Machine::unmap_dma(Task& t, int container, uint64_t iova, uint64_t size, uint32_t flags) {
  vfio_iommu_type1_dma_unmap u{};
  u.argsz = sizeof u;
  u.flags = flags;
  u.iova = iova;
  u.size = size;
  const uint64_t arg = t.alloc_arg(&u, sizeof u);
  const long r = sys().ioctl(t, container, VFIO_IOMMU_UNMAP_DMA, arg);
  t.copy_from_user(&u, arg, sizeof u);
  return {r, u.size};
}

}  // namespace vfiosim::support
