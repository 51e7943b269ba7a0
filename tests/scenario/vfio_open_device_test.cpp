// The composite op "vfio_open_device" against the steps it stands for: the same calls with the
// same results, the same simulated times (the steps after it start and end when they did after
// the spelled-out prologue, and every stat is equal), and a failing call stops it with the
// kernel's errno. Each scenario runs in its own vfiosim process (SystemC elaborates once).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json kPlatform = {
    {"memory", {{"size", "4GiB"}}},
    {"iommu", {{"preset", "broadwell-vtd"}}},
    {"pci", {{"root_ports", {{{"bdf", "00:01.0"}, {"children", {{{"bdf", "01:00.0"}, {"model", "dma-engine"}}}}}}}}}};

// What a program does after the prologue: device info, a config read through the device fd, close.
const json kTail = json::array(
    {{{"op", "ioctl"}, {"fd", "F"}, {"request", "VFIO_DEVICE_GET_INFO"}, {"arg", json::object()}},
     {{"op", "pread"}, {"fd", "F"}, {"region", "VFIO_PCI_CONFIG_REGION_INDEX"}, {"offset", 0}, {"size", 4}},
     {{"op", "ioctl"}, {"fd", "C"}, {"request", "VFIO_CHECK_EXTENSION"}, {"arg", "VFIO_TYPE1v2_IOMMU"}},
     {{"op", "close"}, {"fd", "F"}}});

json sysfs_write(const std::string& path, const std::string& value) {
  return {{"op", "sysfs_write"}, {"path", path}, {"value", value}};
}

json spelled_prologue() {
  return json::array(
      {sysfs_write("/sys/bus/pci/drivers/vfiosim-dmae/unbind", "0000:01:00.0"),
       sysfs_write("/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci"),
       sysfs_write("/sys/bus/pci/drivers_probe", "0000:01:00.0"),
       {{"op", "open"}, {"path", "/dev/vfio/vfio"}, {"as", "C"}},
       {{"op", "open"}, {"path", "/dev/vfio/1"}, {"as", "G"}},
       {{"op", "ioctl"}, {"fd", "G"}, {"request", "VFIO_GROUP_SET_CONTAINER"}, {"arg", "C"}},
       {{"op", "ioctl"}, {"fd", "C"}, {"request", "VFIO_SET_IOMMU"}, {"arg", "VFIO_TYPE1v2_IOMMU"}},
       {{"op", "ioctl"}, {"fd", "G"}, {"request", "VFIO_GROUP_GET_DEVICE_FD"}, {"arg", "0000:01:00.0"}, {"as", "F"}}});
}

json composite(json fields) {
  json s = {{"op", "vfio_open_device"}, {"device", "0000:01:00.0"}, {"container_as", "C"}, {"group_as", "G"}, {"as", "F"}};
  s.update(fields);
  return s;
}

json scenario(json steps) {
  for (const auto& s : kTail) steps.push_back(s);
  return {{"name", "open-device"}, {"platform", kPlatform}, {"steps", std::move(steps)}};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `doc` in a vfiosim process and returns its report.
json run(const json& doc, const std::string& stem) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::temp_directory_path() /
                       ("vfiosim-open-device-" + std::string(info->name()) + "-" + std::to_string(::getpid())) / stem;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "scenario.json") << doc.dump(2);
  const std::string cmd = std::string(VFIOSIM_BINARY) + " run " + (dir / "scenario.json").string() + " -q -o " +
                          (dir / "out").string() + " >/dev/null 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << stem << ": " << slurp(dir / "err");
  return json::parse(slurp(dir / "out" / "report.json"));
}

}  // namespace

TEST(VfioOpenDevice, MakesTheSpelledOutCallsWithTheSameResultsAndTimes) {
  const json spelled = run(scenario(spelled_prologue()), "spelled");
  const json one = run(scenario(json::array({composite({{"bind", true}})})), "composite");
  const size_t n = spelled_prologue().size();
  ASSERT_EQ(spelled["steps"].size(), n + kTail.size());
  ASSERT_EQ(one["steps"].size(), 1 + kTail.size());

  const json& step = one["steps"][0];
  EXPECT_EQ(step["status"], "ok");
  EXPECT_EQ(step["outputs"]["ret"], 0);
  EXPECT_EQ(step["start_ns"], spelled["steps"][0]["start_ns"]);
  EXPECT_EQ(step["end_ns"], spelled["steps"][n - 1]["end_ns"]);
  // Each call's result is the spelled-out step's (the composite adds the iommu_group lookup).
  std::vector<json> calls;
  for (const auto& c : step["outputs"]["calls"])
    if (c["call"] != "iommu_group") calls.push_back(c["ret"]);
  ASSERT_EQ(calls.size(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(calls[i], spelled["steps"][i]["outputs"]["ret"]) << "call " << i;
  EXPECT_EQ(step["outputs"]["container"], spelled["steps"][3]["outputs"]["ret"]);
  EXPECT_EQ(step["outputs"]["group"], spelled["steps"][4]["outputs"]["ret"]);
  EXPECT_EQ(step["outputs"]["device"], spelled["steps"][n - 1]["outputs"]["ret"]);

  // What follows runs at the same times with the same results: the names point at the same fds.
  for (size_t i = 0; i < kTail.size(); ++i) {
    const json& a = spelled["steps"][n + i];
    const json& b = one["steps"][1 + i];
    EXPECT_EQ(a["outputs"], b["outputs"]) << "tail step " << i;
    EXPECT_EQ(a["start_ns"], b["start_ns"]) << "tail step " << i;
    EXPECT_EQ(a["end_ns"], b["end_ns"]) << "tail step " << i;
  }
  EXPECT_EQ(spelled["sim_time_ns"], one["sim_time_ns"]);
  EXPECT_EQ(spelled["stats"], one["stats"]) << "every stat, the CPU's charged cycles included";
}

TEST(VfioOpenDevice, StopsAtTheFirstFailingCallWithTheKernelsErrno) {
  // Without bind the device stays on its host driver: the group has no VFIO node yet.
  json unbound = scenario(json::array({composite({{"expect", {{"ret", -1}, {"errno", "ENOENT"}}}})}));
  unbound["steps"] = json::array({unbound["steps"][0]});
  const json r = run(unbound, "unbound");
  const json& out = r["steps"][0]["outputs"];
  EXPECT_EQ(out["failed"], "open /dev/vfio/1");
  EXPECT_EQ(out["container"], 0);
  EXPECT_FALSE(out.contains("group"));
  EXPECT_FALSE(out.contains("device"));
  ASSERT_EQ(out["calls"].size(), 3u) << out.dump();  // iommu_group, the container, the group
  EXPECT_EQ(out["calls"][2]["errno"], "ENOENT");

  // The kernel refuses the IOMMU type: SET_IOMMU's errno, and no GET_DEVICE_FD after it.
  json v1 = scenario(json::array({composite({{"bind", true}, {"iommu", 99}, {"expect", {{"ret", -1}}}})}));
  v1["steps"] = json::array({v1["steps"][0]});
  const json r1 = run(v1, "bad-iommu");
  const json& out1 = r1["steps"][0]["outputs"];
  EXPECT_EQ(out1["failed"], "VFIO_SET_IOMMU");
  EXPECT_EQ(out1["errno"], "ENODEV");  // vfio_ioctl_set_iommu(): no backend of that type
  EXPECT_EQ(out1["calls"].back()["call"], "VFIO_SET_IOMMU");
  EXPECT_FALSE(out1.contains("device"));
}
