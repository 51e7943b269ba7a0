#include "sim/app/pci_platform.h"

#include "sim/app/steps/dma_engine_driver.h"
#include "vfio/linux/drivers/pci/pci-stub.h"

#include <algorithm>
#include <cstdio>

namespace vfiosim {

namespace {
std::string module_name(const char* prefix, const Bdf& b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s_%02x_%02x_%x", prefix, b.bus, b.device, b.function);
  return buf;
}

constexpr uint16_t kBridgeVendor = 0x8086;
constexpr uint16_t kRootPortDevice = 0x7a38;
constexpr uint16_t kSwitchUpDevice = 0x8747;
constexpr uint16_t kSwitchDownDevice = 0x8748;
constexpr uint16_t kPciBridgeDevice = 0x244e;
}  // namespace

PciPlatform::PciPlatform(const PciConfig& config, kernel::Kernel& kernel, SystemBus& host_bus,
                         InterruptController& apic, stats::Group& root, uint64_t seed, TraceWriter* trace)
    : config_(config), kernel_(kernel), stats_(root), seed_(seed), trace_(trace) {
  rc_ = std::make_unique<pci::RootComplex>("rc", config_.root_complex, root, trace);
  host_bus.out.bind(rc_->host);  // binding 0: the root complex, also the default until memory is added
  const auto& rcp0 = config_.root_complex;
  host_bus.map(rcp0.ecam_base, pci::kEcamSize, 0, "ECAM");
  host_bus.map(rcp0.mmio32_base, rcp0.mmio32_size, 0, "MMIO below 4 GiB");
  host_bus.map(rcp0.mmio64_base, rcp0.mmio64_size, 0, "MMIO above 4 GiB");
  rc_->on_msi([&apic](uint16_t rid, uint64_t a, uint32_t d, uint64_t t) { apic.deliver(rid, a, d, t); });
  rc_->on_intx([&apic](unsigned gsi, bool assert, uint64_t t) { apic.set_line(gsi, assert, t); });
  for (const auto& e : config_.rc_endpoints) add_engine(e, rc_->root_bus(), "rciep");
  for (const auto& p : config_.root_ports) build_port(p, rc_->root_bus(), pci::PortType::RootPort);
  const auto& rcp = config_.root_complex;
  kernel::HostBridgeInfo hb{rcp.ecam_base, rcp.mmio32_base, rcp.mmio32_size, rcp.mmio64_base, rcp.mmio64_size};
  core_ = std::make_unique<kernel::PciCore>(kernel_.cpu(), hb);
  groups_ = std::make_unique<kernel::IommuGroups>(*core_);
  drivers_ = std::make_unique<kernel::PciDriverCore>(*core_);
  msi_ = std::make_unique<kernel::PciMsi>(*core_, kernel_.cpu(), kernel_.irqs());
  aer_ = std::make_unique<kernel::AerService>(*core_, *drivers_, kernel_.irqs(), *msi_);
  iov_ = std::make_unique<kernel::PciIov>(*core_, *drivers_);
  auto& k = kernel_.stats();
  boot_config_accesses_ = &k.counter("pci_boot_config_accesses", "accesses", "Config accesses of PCI enumeration");
  boot_time_ = &k.gauge("pci_boot_ns", "ns", "Simulated time PCI enumeration and resource assignment took");
  using kernel::Initcall;
  kernel_.initcall(Initcall::subsys, "pci_subsys_init", [this] { return pci_subsys_init(); });
  // After pci_iommu_init (rootfs level), before the drivers bind.
  kernel_.initcall(Initcall::device, "iommu_bus_init", [this] {
    iommu_bus_init();
    return 0;
  });
  kernel_.initcall(Initcall::device, "pci_boot_drivers", [this] {
    register_boot_drivers(*this);
    kernel::pci_stub_init(*drivers_);
    return 0;
  });
  kernel_.initcall(Initcall::late, "pci_boot_stats", [this] {
    *boot_config_accesses_ += core_->config_accesses();
    boot_time_->set(static_cast<double>(sc_core::sc_time_stamp().value() - boot_start_) / 1000.0);
    return 0;
  });
}

void PciPlatform::build_port(const PciPortConfig& p, pci::PciBus& bus, pci::PortType type) {
  auto port = std::make_unique<pci::PciBridge>(module_name(type == pci::PortType::RootPort ? "rp" : "dsp", p.bdf),
                                               p.bdf.devfn(), type);
  pci::ConfigBuilder b(port->config());
  // Ports that share a device number are functions of one multi-function device (T8).
  const auto& siblings = type == pci::PortType::RootPort ? config_.root_ports : std::vector<PciPortConfig>{};
  size_t same_device = 0;
  for (const auto& s : siblings) same_device += s.bdf.device == p.bdf.device;
  b.type1(kBridgeVendor, type == pci::PortType::RootPort ? kRootPortDevice : kSwitchDownDevice, same_device > 1);
  pci::PcieCapSpec cap;
  cap.type = type;
  cap.mps_supported = 4096;
  cap.flr = false;
  cap.link_gen = p.link.gen;
  cap.link_width = p.link.width;
  port->set_pcie_cap(b.add_pcie(cap));
  // A root port signals the error messages it collects with an MSI (the AER service's interrupt).
  if (type == pci::PortType::RootPort) port->set_msi_cap(b.add_msi(0, true, false));
  port->set_aer_cap(b.add_aer(type == pci::PortType::RootPort));
  if (p.acs) port->set_acs_cap(b.add_acs(p.acs_caps));
  port->finish_config();
  pci::PciBridge& ref = rc_->add(bus, std::move(port));
  rc_->connect(ref.secondary(), p.link);
  if (p.switch_below) {
    const auto& sw = *p.switch_below;
    auto up = std::make_unique<pci::PciBridge>(module_name("usp", sw.bdf), sw.bdf.devfn(), pci::PortType::UpstreamPort);
    pci::ConfigBuilder ub(up->config());
    ub.type1(kBridgeVendor, kSwitchUpDevice, false);
    pci::PcieCapSpec ucap;
    ucap.type = pci::PortType::UpstreamPort;
    ucap.mps_supported = 4096;
    ucap.flr = false;
    ucap.link_gen = p.link.gen;
    ucap.link_width = p.link.width;
    up->set_pcie_cap(ub.add_pcie(ucap));
    up->finish_config();
    pci::PciBridge& usp = rc_->add(ref.secondary(), std::move(up));
    for (const auto& d : sw.downstream_ports) build_port(d, usp.secondary(), pci::PortType::DownstreamPort);
    return;
  }
  if (p.bridge_below) {
    const auto& bc = *p.bridge_below;
    auto br = std::make_unique<pci::PciBridge>(module_name("pcibr", bc.bdf), bc.bdf.devfn(), pci::PortType::PcieToPciBridge);
    pci::ConfigBuilder bb(br->config());
    bb.type1(kBridgeVendor, kPciBridgeDevice, false);
    pci::PcieCapSpec bcap;
    bcap.type = pci::PortType::PcieToPciBridge;
    bcap.flr = false;
    bcap.link_gen = p.link.gen;
    bcap.link_width = p.link.width;
    br->set_pcie_cap(bb.add_pcie(bcap));
    br->finish_config();
    pci::PciBridge& bridge = rc_->add(ref.secondary(), std::move(br));
    for (const auto& e : bc.devices) add_engine(e, bridge.secondary(), "pci");
    return;
  }
  build_endpoints(p, ref.secondary());
}

void PciPlatform::build_endpoints(const PciPortConfig& p, pci::PciBus& bus) {
  for (const auto& e : p.endpoints) add_engine(e, bus, "ep");
}

// A DMA engine, and for an SR-IOV PF its TotalVFs VFs on the same bus at the routing IDs the
// capability gives (built now, at elaboration; they exist once Linux sets VF Enable).
void PciPlatform::add_engine(const PciEndpointConfig& e, pci::PciBus& bus, const char* prefix) {
  auto engine = std::make_unique<pci::DmaEngine>(module_name(prefix, e.bdf).c_str(), e.bdf.devfn(), e.engine, *rc_,
                                                 stats_, seed_, trace_);
  pci::DmaEngine& pf = rc_->add(bus, std::move(engine));
  engines_[e.bdf.str()] = &pf;
  const pci::SriovSpec& sv = e.engine.sriov;
  for (unsigned n = 0; n < sv.total_vfs; ++n) {
    pci::DmaEngineParams vp = e.engine;
    vp.virtual_function = true;
    vp.sriov = {};
    vp.acs = 0;
    vp.multifunction = false;
    vp.func1_alias = false;
    vp.bars.clear();
    for (const auto& b : sv.vf_bars)
      if (b.kind != pci::BarSpec::Kind::None) vp.bars.push_back(b.size);
    const Bdf vb = *Bdf::vf_of(e.bdf, sv.first_vf_offset, sv.vf_stride, n);  // validated: on the PF's bus
    auto vf = std::make_unique<pci::DmaEngine>(module_name("vf", vb).c_str(), vb.devfn(), vp, *rc_, stats_, seed_,
                                               trace_);
    pci::DmaEngine& ref = rc_->add(bus, std::move(vf));
    pf.attach_vf(ref);
    engines_[vb.str()] = &ref;
  }
}

pci::DmaEngine* PciPlatform::engine(const std::string& bdf) {
  const auto b = Bdf::parse(bdf);
  if (!b) return nullptr;
  auto it = engines_.find(b->str());
  return it == engines_.end() ? nullptr : it->second;
}

nlohmann::json PciPlatform::describe() const {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : core_->devices()) {
    char ids[32];
    std::snprintf(ids, sizeof ids, "%04x:%04x", d->vendor, d->device);
    nlohmann::json bars = nlohmann::json::array();
    for (int i = 0; i < kernel::PCI_ROM_RESOURCE; ++i)
      if (d->res[i].flags) bars.push_back({{"index", i}, {"start", d->res[i].start}, {"size", d->res[i].size()}});
    nlohmann::json dev = {{"bdf", d->name()},
                          {"id", ids},
                          {"class", d->class_code},
                          {"pcie_type", d->is_pcie() ? d->pcie_type() : -1},
                          {"bridge", d->is_bridge()},
                          {"bars", bars},
                          {"iommu_group", d->dev.iommu_group ? d->dev.iommu_group->id : -1}};
    if (d->res[kernel::PCI_ROM_RESOURCE].flags)
      dev["rom"] = {{"start", d->res[kernel::PCI_ROM_RESOURCE].start}, {"size", d->res[kernel::PCI_ROM_RESOURCE].size()}};
    if (intel_)  // the remapping unit the kernel found for it (device_to_iommu)
      if (const kernel::intel_iommu* unit = intel_->device_to_iommu(&d->dev)) dev["dmar_unit"] = unit->name;
    devices.push_back(std::move(dev));
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : groups_->groups()) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto* d : g->devices) members.push_back(kernel::dev_name(d));
    groups.push_back({{"id", g->id}, {"devices", members}});
  }
  return {{"devices", devices}, {"iommu_groups", groups}};
}

void PciPlatform::setup_kernel(const KernelConfig& kc, const std::vector<kernel::DmarDrhd>& dmar, EventLog* events) {
  kernel_config_ = kc;
  rc_->set_event_log(events);
  auto& k = kernel_.stats();
  kernel::CpuCosts& costs = kernel_.costs();
  iommu_core_ = std::make_unique<kernel::IommuCore>(*groups_, costs);  // no driver without an IOMMU
  vfio_ = std::make_unique<kernel::Vfio>(iommu_core_.get(), groups_.get(), kernel_.vfs());
  vfio_->enable_unsafe_noiommu_mode = kc.enable_unsafe_noiommu_mode;
  type1_ = std::make_unique<kernel::VfioIommuType1>(*iommu_core_, costs, kc.type1);
  vfio_pci_ = std::make_unique<kernel::VfioPci>(*vfio_, *core_, *drivers_, kernel_.cpu(), kernel_.irqs(), *msi_);
  vfio_pci_->set_sriov(iov_.get(), kc.vfio_pci_enable_sriov, seed_);
  kernel_.add_leak_check([this] { return leaks(); });
  kernel_.add_shutdown([this] { shutdown(); });
  using kernel::Initcall;
  // module_init of vfio_iommu_type1 and vfio-pci (device level, after the boot drivers).
  kernel_.initcall(Initcall::device, "vfio_iommu_type1_init",
                   [this] { return vfio_->vfio_register_iommu_driver(type1_->ops()); });
  kernel_.initcall(Initcall::device, "vfio_pci_init", [this] {
    vfio_pci_->register_driver();
    return 0;
  });
  if (dmar.empty()) return;
  auto& ki = k.child("iommu");
  intel_ = std::make_unique<kernel::IntelIommu>(kernel_.cpu(), costs, kernel_.pages(), kernel_.irqs(), dmar, kc.iommu,
                                                events, ki.child("intel"));
  // Interrupt remapping (every unit with ECAP.IR) is the MSI parent domain: multi-message MSI.
  msi_->set_remapping([this] { return intel_->capable(kernel::IOMMU_CAP_INTR_REMAP); });
  const auto& rcp = config_.root_complex;
  dma_api_ = std::make_unique<kernel::IommuDma>(
      *iommu_core_, costs, kernel_.pages(), kc.iommu,
      std::vector<std::pair<uint64_t, uint64_t>>{{rcp.mmio32_base, rcp.mmio32_base + rcp.mmio32_size - 1},
                                                 {rcp.mmio64_base, rcp.mmio64_base + rcp.mmio64_size - 1}},
      ki.child("dma"));
  iommu_core_->on_domain_free = [this](kernel::iommu_domain* d) { dma_api_->put_dma_cookie(d); };
  // x86's pci_iommu_init() (rootfs level) runs intel_iommu_init.
  kernel_.initcall(Initcall::rootfs, "pci_iommu_init", [this] { return pci_iommu_init(); });
}

std::vector<std::string> PciPlatform::leaks() {
  std::vector<std::string> out;
  if (vfio_)
    for (auto& l : vfio_->leaks()) out.push_back("vfio: " + l);
  if (iommu_core_)
    for (auto& l : iommu_core_->leaks()) out.push_back("iommu: " + l);
  if (type1_ && type1_->live()) out.push_back("vfio_iommu_type1: " + std::to_string(type1_->live()) + " vfio_iommu(s) not released");
  return out;
}

void PciPlatform::shutdown() {
  if (!vfio_) return;
  kernel::pci_driver* drv = drivers_->find_driver("vfio-pci");
  if (!drv) return;
  for (const auto& dev : core_->devices())
    if (drivers_->driver_of(*dev) == drv) drivers_->unbind(*drv, *dev);
}

// pci_subsys_init() (arch/x86/pci/legacy.c at subsys level): enumerate, assign resources, set
// MPS/MRRS; then the IOMMU groups of the devices found (without an IOMMU driver, the groups the
// no-IOMMU and emulated VFIO paths use).
int PciPlatform::pci_subsys_init() {
  boot_start_ = sc_core::sc_time_stamp().value();
  kernel::BusSettings s;
  s.mps = config_.mps;
  s.mrrs = config_.mrrs;
  s.disable_acs_redir = config_.disable_acs_redir;
  core_->scan(s);
  groups_->probe_all();
  return 0;
}

// intel_iommu_init(): init_dmars(), then the bus's default domains (bus_iommu_probe), then
// translation on; devices bound later use the default domain (dma_configure).
int PciPlatform::pci_iommu_init() {
  if (int ret = intel_->init()) return ret;
  const auto& o = kernel_config_.iommu;
  const unsigned def = o.passthrough ? kernel::IOMMU_DOMAIN_IDENTITY
                                     : o.strict ? kernel::IOMMU_DOMAIN_DMA : kernel::IOMMU_DOMAIN_DMA_FQ;
  if (int ret = iommu_core_->register_driver(intel_.get(), def)) return ret;
  intel_->enable_translation();
  drivers_->dma_configure = [this](kernel::pci_dev& d) { return iommu_core_->iommu_device_use_default_domain(&d.dev); };
  drivers_->dma_cleanup = [this](kernel::pci_dev& d) { iommu_core_->iommu_device_unuse_default_domain(&d.dev); };
  return 0;
}

// iommu_bus_notifier(): devices added later (SR-IOV VFs) get a group and the default domain.
void PciPlatform::iommu_bus_init() {
  drivers_->bus_register_notifier([this](unsigned long action, kernel::pci_dev& d) {
    if (action == kernel::BUS_NOTIFY_ADD_DEVICE) {
      if (iommu_core_) iommu_core_->iommu_probe_device(&d.dev);
      else groups_->probe(&d.dev);
    } else if (action == kernel::BUS_NOTIFY_REMOVED_DEVICE) {
      if (iommu_core_) iommu_core_->iommu_release_device(&d.dev);
      else groups_->remove(&d.dev);
    }
  });
}

}  // namespace vfiosim
