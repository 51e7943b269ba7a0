#include "sim/app/pci_config.h"

#include <linux/pci_regs.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace vfiosim {

using config::Field;
using config::json;

std::string Bdf::str() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000:%02x:%02x.%x", bus, device, function);
  return buf;
}

std::optional<Bdf> Bdf::vf_of(const Bdf& pf, unsigned offset, unsigned stride, unsigned n) {
  const unsigned devfn = pf.devfn() + pci::vf_rid_offset(static_cast<uint16_t>(offset), static_cast<uint16_t>(stride), n);
  if (devfn > 255) return std::nullopt;
  return Bdf{pf.bus, static_cast<uint8_t>(devfn >> 3), static_cast<uint8_t>(devfn & 7)};
}

std::optional<Bdf> Bdf::parse(const std::string& text) {
  std::string t = text;
  if (t.size() == 12 && t.compare(0, 5, "0000:") == 0) t = t.substr(5);
  unsigned b, d, f;
  char tail;
  if (t.size() != 7 || std::sscanf(t.c_str(), "%2x:%2x.%1x%c", &b, &d, &f, &tail) != 3) return std::nullopt;
  if (b > 255 || d > 31 || f > 7) return std::nullopt;
  return Bdf{static_cast<uint8_t>(b), static_cast<uint8_t>(d), static_cast<uint8_t>(f)};
}

namespace {

// ACS capability bits by name (PCI_ACS_*).
const std::vector<std::pair<std::string, uint16_t>>& acs_bit_names() {
  static const std::vector<std::pair<std::string, uint16_t>> names = {
      {"SV", PCI_ACS_SV}, {"TB", PCI_ACS_TB}, {"RR", PCI_ACS_RR}, {"CR", PCI_ACS_CR},
      {"UF", PCI_ACS_UF}, {"EC", PCI_ACS_EC}, {"DT", PCI_ACS_DT}};
  return names;
}

Field acs_caps_field() {
  std::vector<std::string> names;
  for (const auto& [n, b] : acs_bit_names()) names.push_back(n);
  return Field::array_of("acs_capabilities", Field::enumeration("", names))
      .describe("The ACS capability bits (what Linux may enable: it sets SV, RR, CR and UF where present; "
                "TB, EC and DT stay off)")
      .defaults(json::array({"SV", "TB", "RR", "CR", "UF"}))
      .items(0, 7);
}

uint16_t acs_bits(const json& names) {
  uint16_t bits = 0;
  for (const auto& n : names)
    for (const auto& [name, b] : acs_bit_names())
      if (n == name) bits |= b;
  return bits;
}

Field bdf_field() {
  return Field::string("bdf").require().describe("Bus:device.function, e.g. \"01:00.0\" (the bus must be the one "
                                                 "depth-first enumeration gives)");
}

void check_bdf(const json& r, const std::string& ptr, config::Issues& issues) {
  if (!Bdf::parse(r["bdf"].get<std::string>()))
    issues.add(ptr + "/bdf", "expected \"bb:dd.f\" (hex bus, device 0-1f, function 0-7), got \"" +
                                 r["bdf"].get<std::string>() + "\"");
}

std::shared_ptr<const config::ObjectSpec> link_spec() {
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("link", "The PCIe link below a port");
    s->add(Field::integer("gen").describe("PCIe generation (2.5, 5, 8, 16, 32 GT/s)").defaults(3).at_least(1).at_most(5));
    s->add(Field::integer("width").with_unit("lanes").describe("Link width: 1, 2, 4, 8, 12, 16 or 32").defaults(8)
               .at_least(1).at_most(32));
    s->add(Field::number("latency_ns").with_unit("ns").describe("One-way PHY and data-link pipeline latency")
               .defaults(0).at_least(0).at_most(1e6));
    auto credits = std::make_shared<config::ObjectSpec>(
        "credits", "Flow-control credits each end advertises (0: infinite); one data credit is 16 bytes");
    for (const char* name : {"posted_header", "posted_data", "nonposted_header", "nonposted_data",
                             "completion_header", "completion_data"})
      credits->add(Field::integer(name).with_unit("credits").defaults(0).at_least(0).at_most(4095)
                       .describe(std::string("Receiver credits for ") + name));
    s->add(Field::object_of("credits", credits).describe("Receive-buffer credits (both ends)").defaults(json::object()));
    s->add(Field::number("drain_ns").with_unit("ns").describe("Time a receiver holds a TLP before returning its credits")
               .defaults(0).at_least(0).at_most(1e6));
    s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      if (!pci::valid_width(r["width"].get<unsigned>()))
        issues.add(ptr + "/width", "expected one of 1, 2, 4, 8, 12, 16, 32, got " + r["width"].dump());
    });
    return s;
  }();
  return spec;
}

std::shared_ptr<const config::ObjectSpec> engine_spec() {
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("dma-engine", "The vfiosim DMA engine endpoint (docs/dma-engine.md)");
    s->add(bdf_field());
    s->add(Field::enumeration("model", {"dma-engine"}).require().describe("Device model"));
    s->add(Field::array_of("bars", Field::size("").at_least(16).at_most(static_cast<double>(1ULL << 31)).pow2())
               .describe("Memory BAR sizes from BAR0; BAR0 holds the registers and must be at least 16 KiB")
               .defaults(json::array({"16KiB"})).items(1, 6));
    s->add(Field::integer("clock_mhz").with_unit("MHz").describe("Engine clock").defaults(250).at_least(1).at_most(10000));
    s->add(Field::integer("tags").with_unit("requests").describe("Outstanding read requests the engine can track")
               .defaults(64).at_least(1).at_most(256));
    s->add(Field::integer("mps_supported").with_unit("bytes").describe("Max_Payload_Size supported (Device Cap)")
               .defaults(512).at_least(128).at_most(4096).pow2());
    s->add(Field::boolean("acs").describe("Implement an ACS capability (its bits: acs_capabilities)").defaults(false));
    s->add(acs_caps_field());
    s->add(Field::boolean("ats").describe("Implement an ATS capability").defaults(false));
    s->add(Field::boolean("pasid").describe("Implement a PASID capability").defaults(false));
    auto sriov = std::make_shared<config::ObjectSpec>(
        "sriov", "An SR-IOV capability: VFs appear when Linux writes sriov_numvfs (spec A1.6)");
    sriov->add(Field::integer("total_vfs").with_unit("functions").describe("TotalVFs (0: no SR-IOV capability)")
                   .defaults(0).at_least(0).at_most(255));
    sriov->add(Field::integer("first_vf_offset").with_unit("routing IDs").describe("First VF Offset")
                   .defaults(1).at_least(1).at_most(255));
    sriov->add(Field::integer("vf_stride").with_unit("routing IDs").describe("VF Stride").defaults(1).at_least(1)
                   .at_most(255));
    sriov->add(Field::array_of("vf_bars", Field::size("").at_least(16).at_most(static_cast<double>(1ULL << 31)).pow2())
                   .describe("Memory BAR sizes of each VF from VF BAR0 (registers, at least 16 KiB)")
                   .defaults(json::array({"16KiB"})).items(1, 6));
    s->add(Field::object_of("sriov", sriov).describe("SR-IOV physical function settings").defaults(json::object()));
    auto cap = std::make_shared<config::ObjectSpec>(
        "capability", "A capability carried but not implemented (registers read 0): shows what software hides");
    cap->add(Field::integer("id").describe("Capability ID (standard: 8 bits, extended: 16 bits)").require().at_least(1)
                 .at_most(0xFFFF));
    cap->add(Field::integer("length").with_unit("bytes").describe("Size, header included").defaults(8).at_least(4)
                 .at_most(256));
    cap->add(Field::boolean("extended").describe("A PCI Express extended capability (first in the extended list; "
                                                 "standard ones follow the PM capability)").defaults(false));
    cap->add(Field::integer("version").describe("Extended capability version").defaults(1).at_least(0).at_most(15));
    cap->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      if (!r["extended"].get<bool>() && r["id"].get<unsigned>() > 0xFF) issues.add(ptr + "/id", "a standard capability ID is 8 bits");
      if (r["length"].get<unsigned>() % 4) issues.add(ptr + "/length", "expected a multiple of 4");
    });
    s->add(Field::array_of("extra_capabilities", Field::object_of("", cap))
               .describe("Raw capabilities the engine carries without implementing them").defaults(json::array()));
    s->add(Field::boolean("vpd").describe("Implement a VPD capability with a small VPD image (identifier, VPD-R, VPD-W)")
               .defaults(false));
    s->add(Field::integer("vpd_access_ns").with_unit("ns").describe("The VPD store's time per dword read or write")
               .defaults(2000).at_least(1).at_most(100000000));
    s->add(Field::size("rom").with_unit("bytes")
               .describe("Expansion ROM BAR size (0: none; else a power of two from 2 KiB to 16 MiB) holding an option "
                         "ROM image of up to 4 KiB (0x55AA header, PCIR structure with the engine's IDs)")
               .defaults(0).at_least(0).at_most(16 << 20));
    s->add(Field::boolean("func1_alias").describe("Quirk: DMA also carries function 1's requester ID (Linux adds "
                                                  "a DMA alias for it, quirk_dma_func1_alias)").defaults(false));
    s->check(check_bdf);
    s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      const json& sv = r["sriov"];
      if (sv["vf_bars"][0].get<uint64_t>() < pci::dmae::kBar0Size)
        issues.add(ptr + "/sriov/vf_bars/0", "VF BAR0 holds the VF's registers and MSI-X table: expected at least "
                                             "16 KiB, got " + sv["vf_bars"][0].dump());
      if (r["bars"][0].get<uint64_t>() < pci::dmae::kBar0Size)
        issues.add(ptr + "/bars/0", "BAR0 holds the registers and MSI-X table: expected at least 16 KiB, got " +
                                        r["bars"][0].dump());
      const uint64_t rom = r["rom"].get<uint64_t>();
      if (rom && (rom < 2048 || (rom & (rom - 1))))
        issues.add(ptr + "/rom", "expected 0 or a power of two of at least 2 KiB, got " + r["rom"].dump());
    });
    return s;
  }();
  return spec;
}

std::shared_ptr<const config::ObjectSpec> port_spec(int depth);

std::shared_ptr<const config::ObjectSpec> switch_spec() {
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("switch", "A PCIe switch: an upstream port and its downstream ports");
    s->add(bdf_field().describe("BDF of the upstream port"));
    s->add(Field::enumeration("model", {"switch"}).require().describe("Device model"));
    s->add(Field::array_of("downstream_ports", Field::object_of("", port_spec(1))).require().items(1, 32)
               .describe("Downstream ports on the switch's internal bus"));
    s->check(check_bdf);
    return s;
  }();
  return spec;
}

std::shared_ptr<const config::ObjectSpec> conventional_spec() {
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>(*engine_spec());
    return std::const_pointer_cast<const config::ObjectSpec>(s);
  }();
  return spec;
}

std::shared_ptr<const config::ObjectSpec> pci_bridge_spec() {
  static const auto spec = [] {
    auto s = std::make_shared<config::ObjectSpec>("pcie-pci-bridge",
                                                  "A PCIe-to-PCI bridge with conventional PCI devices behind it");
    s->add(bdf_field());
    s->add(Field::enumeration("model", {"pcie-pci-bridge"}).require().describe("Device model"));
    s->add(Field::array_of("devices", Field::object_of("", conventional_spec())).defaults(json::array()).items(0, 32)
               .describe("Conventional PCI DMA engines on the bridge's secondary bus (no PCIe capability)"));
    s->check(check_bdf);
    return s;
  }();
  return spec;
}

std::shared_ptr<const config::ObjectSpec> port_spec(int depth) {
  auto s = std::make_shared<config::ObjectSpec>(depth == 0 ? "root_port" : "downstream_port",
                                                depth == 0 ? "A root port on bus 0" : "A switch downstream port");
  s->add(bdf_field());
  s->add(Field::boolean("acs").describe("Implement an ACS capability (its bits: acs_capabilities)").defaults(true));
  s->add(acs_caps_field());
  s->add(Field::object_of("link", link_spec()).describe("The link to the device below").defaults(json::object()));
  auto children = std::make_shared<config::UnionSpec>("model");
  children->add("dma-engine", engine_spec());
  if (depth == 0) children->add("switch", switch_spec());
  children->add("pcie-pci-bridge", pci_bridge_spec());
  s->add(Field::array_of("children", Field::union_of("", children)).defaults(json::array()).items(0, 8)
             .describe(depth == 0 ? "The device below: endpoint functions, or one switch" : "Endpoint functions below"));
  s->check(check_bdf);
  return s;
}

// Depth-first numbering as Linux's pci_scan_child_bus gives it; checks every written BDF.
struct Numbering {
  config::Issues& issues;
  std::set<std::string> seen;
  unsigned next = 0;

  std::optional<Bdf> bdf_at(const json& node, const std::string& ptr, unsigned bus, bool below_port) {
    const auto b = Bdf::parse(node["bdf"].get<std::string>());
    if (!b) return std::nullopt;
    if (!seen.insert(b->str()).second) issues.add(ptr + "/bdf", "duplicate BDF " + b->str());
    if (b->bus != bus)
      issues.add(ptr + "/bdf", "enumeration puts this function on bus " + hex(bus) + ", not " + hex(b->bus));
    if (below_port && b->device != 0)
      issues.add(ptr + "/bdf", "only device 0 exists below a PCIe port (no ARI), got device " + hex(b->device));
    if (node.contains("sriov")) virtual_functions(node, ptr, *b);
    return b;
  }
  // The routing IDs SR-IOV gives the VFs must stay on the PF's bus and be free.
  void virtual_functions(const json& node, const std::string& ptr, const Bdf& pf) {
    const json& sv = node["sriov"];
    const unsigned total = sv["total_vfs"].get<unsigned>();
    if (!total) return;
    const unsigned offset = sv["first_vf_offset"].get<unsigned>(), stride = sv["vf_stride"].get<unsigned>();
    if (!Bdf::vf_of(pf, offset, stride, total - 1)) {
      issues.add(ptr + "/sriov/total_vfs", "VF " + std::to_string(total) + " would have routing ID offset " +
                                               std::to_string(pci::vf_rid_offset(static_cast<uint16_t>(offset),
                                                                                 static_cast<uint16_t>(stride), total - 1)) +
                                               ", past the PF's bus (VFs on another bus are not modelled)");
      return;
    }
    for (unsigned n = 0; n < total; ++n) {
      const Bdf vf = *Bdf::vf_of(pf, offset, stride, n);
      if (!seen.insert(vf.str()).second)
        issues.add(ptr + "/sriov", "VF " + std::to_string(n + 1) + " would be " + vf.str() + ", which another "
                                   "function already is");
    }
  }
  static std::string hex(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02x", v);
    return buf;
  }
  unsigned take(const std::string& ptr) {
    if (next >= 255) {
      issues.add(ptr, "PCI bus numbers exhausted (more than 255 buses)");
      return 255;
    }
    return ++next;
  }
  static std::vector<size_t> by_devfn(const json& arr) {
    std::vector<size_t> order(arr.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const auto x = Bdf::parse(arr[a]["bdf"].get<std::string>()), y = Bdf::parse(arr[b]["bdf"].get<std::string>());
      return (x ? x->devfn() : 0) < (y ? y->devfn() : 0);
    });
    return order;
  }
  void port(const json& p, const std::string& ptr, unsigned bus, bool below_port) {
    bdf_at(p, ptr, bus, below_port);
    const unsigned sec = take(ptr);
    const json& kids = p["children"];
    bool has_switch = false, has_fn0 = kids.empty();
    for (const size_t i : by_devfn(kids)) {
      const std::string kp = ptr + "/children/" + std::to_string(i);
      const auto b = bdf_at(kids[i], kp, sec, true);
      if (b && b->function == 0) has_fn0 = true;
      if (kids[i]["model"] == "pcie-pci-bridge") {
        has_switch = true;  // like a switch, it must be alone below its port
        const unsigned conventional = take(kp);
        const json& devs = kids[i]["devices"];
        for (size_t j = 0; j < devs.size(); ++j) {
          const std::string dp = kp + "/devices/" + std::to_string(j);
          if (devs[j]["sriov"]["total_vfs"].get<unsigned>())
            issues.add(dp + "/sriov/total_vfs", "a conventional PCI function has no extended config space, so no "
                                                "SR-IOV capability");
          else bdf_at(devs[j], dp, conventional, false);
        }
      }
      if (kids[i]["model"] == "switch") {
        has_switch = true;
        const unsigned internal = take(kp);
        const json& dsps = kids[i]["downstream_ports"];
        for (const size_t j : by_devfn(dsps))
          port(dsps[j], kp + "/downstream_ports/" + std::to_string(j), internal, false);
      }
    }
    if (has_switch && kids.size() > 1) issues.add(ptr + "/children", "a switch must be the only device below a port");
    if (!has_fn0) issues.add(ptr + "/children", "a multi-function device needs function 0 (Linux scans 1-7 only "
                                                "when function 0 says it is multi-function)");
  }
};

}  // namespace

std::shared_ptr<const config::ObjectSpec> PciConfig::spec() {
  static const auto spec = [] {
    auto rc = std::make_shared<config::ObjectSpec>("root_complex", "The host bridge");
    rc->add(Field::integer("clock_mhz").with_unit("MHz").describe("Root complex clock").defaults(1000).at_least(1)
                .at_most(10000));
    rc->add(Field::integer("latency_cycles").with_unit("cycles")
                .describe("Latency of each traversal of the root complex (upstream or downstream)").defaults(100)
                .at_least(0).at_most(1000000));
    rc->add(Field::number("switch_latency_ns").with_unit("ns").describe("Cut-through latency of one switch traversal")
                .defaults(100).at_least(0).at_most(1e6));
    rc->add(Field::integer("rcb").with_unit("bytes").describe("Read completion boundary of the root complex (64 or 128)")
                .defaults(64).at_least(64).at_most(128).pow2());
    auto s = std::make_shared<config::ObjectSpec>("pci", "The PCI Express hierarchy of segment 0");
    s->add(Field::object_of("root_complex", rc).describe("Root complex parameters").defaults(json::object()));
    s->add(Field::integer("mps").with_unit("bytes")
               .describe("Max_Payload_Size Linux programs, lowered per root port to what its hierarchy supports")
               .defaults(256).at_least(128).at_most(4096).pow2());
    s->add(Field::integer("mrrs").with_unit("bytes").describe("Max_Read_Request_Size programmed into endpoints")
               .defaults(512).at_least(128).at_most(4096).pow2());
    s->add(Field::array_of("disable_acs_redir", Field::string("")).defaults(json::array()).items(0, 256)
               .describe("Linux's disable_acs_redir= parameter: BDFs whose ACS P2P redirect (RR, CR, EC) stays off"));
    s->add(Field::array_of("root_ports", Field::object_of("", port_spec(0))).defaults(json::array()).items(0, 32)
               .describe("Root ports on bus 0, each with the device below it"));
    s->add(Field::array_of("rc_endpoints", Field::object_of("", engine_spec())).defaults(json::array()).items(0, 64)
               .describe("Root complex integrated endpoints on bus 0 (no link)"));
    s->check([](const json& r, const std::string& ptr, config::Issues& issues) {
      const json& redir = r["disable_acs_redir"];
      for (size_t i = 0; i < redir.size(); ++i)
        if (!Bdf::parse(redir[i].get<std::string>()))
          issues.add(ptr + "/disable_acs_redir/" + std::to_string(i),
                     "expected \"bb:dd.f\", got \"" + redir[i].get<std::string>() + "\"");
      Numbering n{issues, {}, 0};
      const json& rcie = r["rc_endpoints"];
      for (size_t i = 0; i < rcie.size(); ++i) n.bdf_at(rcie[i], ptr + "/rc_endpoints/" + std::to_string(i), 0, false);
      const json& rps = r["root_ports"];
      for (const size_t i : Numbering::by_devfn(rps)) n.port(rps[i], ptr + "/root_ports/" + std::to_string(i), 0, false);
    });
    return s;
  }();
  return spec;
}

namespace {

pci::LinkParams link_from(const json& l, uint32_t mps) {
  pci::LinkParams p;
  p.gen = l["gen"].get<unsigned>();
  p.width = l["width"].get<unsigned>();
  p.latency_ps = static_cast<uint64_t>(l["latency_ns"].get<double>() * 1000.0 + 0.5);
  p.drain_ps = static_cast<uint64_t>(l["drain_ns"].get<double>() * 1000.0 + 0.5);
  int i = 0;
  for (const char* name : {"posted_header", "posted_data", "nonposted_header", "nonposted_data",
                           "completion_header", "completion_data"})
    p.credits[i++] = l["credits"][name].get<uint32_t>();
  p.mps = mps;
  return p;
}

PciEndpointConfig endpoint_from(const json& c, bool multifunction_device);

PciPortConfig port_from(const json& p, uint32_t mps) {
  PciPortConfig port;
  port.bdf = *Bdf::parse(p["bdf"].get<std::string>());
  port.acs = p["acs"].get<bool>();
  port.acs_caps = acs_bits(p["acs_capabilities"]);
  port.link = link_from(p["link"], mps);
  const size_t functions = p["children"].size();
  for (const auto& c : p["children"]) {
    if (c["model"] == "pcie-pci-bridge") {
      PciBridgeConfig br;
      br.bdf = *Bdf::parse(c["bdf"].get<std::string>());
      for (const auto& d : c["devices"]) {
        size_t same = 0;
        for (const auto& o : c["devices"])
          same += Bdf::parse(o["bdf"].get<std::string>())->device == Bdf::parse(d["bdf"].get<std::string>())->device;
        PciEndpointConfig e = endpoint_from(d, same > 1);
        e.engine.conventional = true;
        br.devices.push_back(e);
      }
      port.bridge_below = std::move(br);
      continue;
    }
    if (c["model"] == "switch") {
      PciSwitchConfig sw;
      sw.bdf = *Bdf::parse(c["bdf"].get<std::string>());
      for (const auto& d : c["downstream_ports"]) sw.downstream_ports.push_back(port_from(d, mps));
      port.switch_below = std::move(sw);
      continue;
    }
    PciEndpointConfig e = endpoint_from(c, functions > 1);
    e.engine.pcie.link_gen = port.link.gen;
    e.engine.pcie.link_width = port.link.width;
    port.endpoints.push_back(e);
  }
  return port;
}

PciEndpointConfig endpoint_from(const json& c, bool multifunction_device) {
  {
    PciEndpointConfig e;
    e.bdf = *Bdf::parse(c["bdf"].get<std::string>());
    e.model = c["model"].get<std::string>();
    e.engine.clock_mhz = c["clock_mhz"].get<uint64_t>();
    e.engine.tags = c["tags"].get<uint32_t>();
    e.engine.pcie.mps_supported = c["mps_supported"].get<uint32_t>();
    e.engine.acs = c["acs"].get<bool>() ? acs_bits(c["acs_capabilities"]) : 0;
    e.engine.ats = c["ats"].get<bool>();
    e.engine.pasid = c["pasid"].get<bool>();
    e.engine.func1_alias = c["func1_alias"].get<bool>();
    e.engine.vpd = c["vpd"].get<bool>();
    e.engine.vpd_access_ns = c["vpd_access_ns"].get<uint64_t>();
    e.engine.rom = c["rom"].get<uint32_t>();
    for (const auto& x : c["extra_capabilities"])
      e.engine.extra_capabilities.push_back({x["id"].get<uint16_t>(), x["length"].get<uint16_t>(), x["extended"].get<bool>(),
                                            x["version"].get<uint8_t>()});
    const json& sv = c["sriov"];
    e.engine.sriov.total_vfs = sv["total_vfs"].get<uint16_t>();
    e.engine.sriov.first_vf_offset = sv["first_vf_offset"].get<uint16_t>();
    e.engine.sriov.vf_stride = sv["vf_stride"].get<uint16_t>();
    e.engine.sriov.vf_device = pci::dmae::kDeviceIdVf;
    for (size_t i = 0; i < sv["vf_bars"].size() && i < 6; ++i)
      e.engine.sriov.vf_bars[i] = pci::BarSpec{pci::BarSpec::Kind::Mem32, sv["vf_bars"][i].get<uint64_t>(), false};
    // Every function of a multi-function device reports it (Linux reads it from function 0).
    e.engine.multifunction = multifunction_device;
    e.engine.bars.clear();
    for (const auto& b : c["bars"]) e.engine.bars.push_back(b.get<uint64_t>());
    e.bar0_size = e.engine.bars[0];
    return e;
  }
}

void collect(const PciPortConfig& p, std::vector<const PciEndpointConfig*>& out) {
  for (const auto& e : p.endpoints) out.push_back(&e);
  if (p.bridge_below)
    for (const auto& e : p.bridge_below->devices) out.push_back(&e);
  if (p.switch_below)
    for (const auto& d : p.switch_below->downstream_ports) collect(d, out);
}

// The links of a hierarchy run at the MPS Linux will program there (the smallest supported).
void set_link_mps(PciPortConfig& p, uint32_t mps) {
  p.link.mps = mps;
  if (p.switch_below)
    for (auto& d : p.switch_below->downstream_ports) set_link_mps(d, mps);
}

}  // namespace

PciConfig PciConfig::from(const json& r) {
  PciConfig c;
  const auto& rc = r["root_complex"];
  c.root_complex.clock_mhz = rc["clock_mhz"].get<uint64_t>();
  c.root_complex.latency_cycles = rc["latency_cycles"].get<uint64_t>();
  c.root_complex.switch_latency_ps = static_cast<uint64_t>(rc["switch_latency_ns"].get<double>() * 1000.0 + 0.5);
  c.root_complex.rcb = rc["rcb"].get<uint32_t>();
  c.mps = r["mps"].get<uint32_t>();
  c.mrrs = r["mrrs"].get<uint32_t>();
  for (const auto& b : r["disable_acs_redir"]) c.disable_acs_redir.push_back(Bdf::parse(b.get<std::string>())->str());
  for (const auto& e : r["rc_endpoints"]) {
    size_t same_device = 0;
    for (const auto& o : r["rc_endpoints"])
      same_device += Bdf::parse(o["bdf"].get<std::string>())->device == Bdf::parse(e["bdf"].get<std::string>())->device;
    PciEndpointConfig ep = endpoint_from(e, same_device > 1);
    ep.engine.rc_integrated = true;
    c.rc_endpoints.push_back(ep);
  }
  for (const auto& p : r["root_ports"]) {
    PciPortConfig port = port_from(p, c.mps);
    std::vector<const PciEndpointConfig*> below;
    collect(port, below);
    uint32_t mps = c.mps;
    for (const auto* e : below) mps = std::min(mps, e->engine.pcie.mps_supported);
    set_link_mps(port, mps);
    c.root_ports.push_back(std::move(port));
  }
  return c;
}

std::vector<const PciEndpointConfig*> PciConfig::endpoints() const {
  std::vector<const PciEndpointConfig*> out;
  for (const auto& e : rc_endpoints) out.push_back(&e);
  for (const auto& p : root_ports) collect(p, out);
  return out;
}

const PciEndpointConfig* PciConfig::find_endpoint(const std::string& bdf) const {
  const auto b = Bdf::parse(bdf);
  if (!b) return nullptr;
  for (const auto* e : endpoints()) {
    if (e->bdf.str() == b->str()) return e;
    const pci::SriovSpec& sv = e->engine.sriov;  // one of its VFs (they exist once enabled)
    for (unsigned n = 0; n < sv.total_vfs; ++n)
      if (const auto vf = Bdf::vf_of(e->bdf, sv.first_vf_offset, sv.vf_stride, n); vf && vf->str() == b->str()) return e;
  }
  return nullptr;
}

}  // namespace vfiosim
