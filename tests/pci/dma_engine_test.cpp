// The DMA engine behind a root port: config and MMIO through ECAM and bridge windows, data
// integrity, bandwidth against the pcie-bench model (perf-anchors.md §1.1) within 1%, MSI-X with
// masking and ordering, Bus Master Enable and FLR. Spec cases C1.14, C1.19, C4.8 and issue
// item 10 at model level.
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "models/traffic/workload.h"
#include "pcie_fixture.h"
#include "tests/support/sc_test.h"

using namespace vfiosim;
using namespace vfiosim::pci;
using vfiosim::pci::testing::PcieFixture;

namespace {
constexpr uint64_t kBuf = 0x100000000ULL;  // above 4 GiB: 64-bit (4 DW) request headers, as the model assumes

double model_tlp_gbps(const LinkTiming& t) { return t.tlp_gbps(); }
double model_write(double tlp, uint32_t sz, uint32_t mps) { return sz * tlp / (std::ceil(double(sz) / mps) * 24 + sz); }
double model_read(double tlp, uint32_t sz, uint32_t mps, uint32_t mrrs) {
  return sz * tlp / std::max(std::ceil(double(sz) / mrrs) * 24, std::ceil(double(sz) / mps) * 20 + sz);
}
}  // namespace

TEST(DmaEngine, EnumeratesThroughEcamAndAnswersMmio) {
  PcieFixture f;
  sctest::run_in_thread([&] {
    EXPECT_EQ(f.cpu.read(f.ecam(0, f.rp->devfn(), PCI_VENDOR_ID), 2), 0x8086u);
    EXPECT_EQ(f.cpu.read(f.ecam(1, 0, PCI_VENDOR_ID), 4), 0xFFFFFFFFu);  // bus 1 not assigned yet
    f.configure();
    EXPECT_EQ(f.cpu.read(f.ecam(1, 0, PCI_VENDOR_ID), 2), dmae::kVendorId);
    EXPECT_EQ(f.cpu.read(f.ecam(1, 0, PCI_DEVICE_ID), 2), dmae::kDeviceId);
    EXPECT_EQ(f.cpu.read(f.ecam(1, 8, PCI_VENDOR_ID), 2), 0xFFFFu);  // only device 0 below a port
    EXPECT_EQ(f.cpu.read(PcieFixture::kBar0 + dmae::ID, 4), dmae::kIdValue);
    EXPECT_EQ(f.cpu.read(PcieFixture::kBar0 + dmae::TAGS, 4), 64u);
    EXPECT_EQ(f.cpu.read(0xD0000000, 4), 0xFFFFFFFFu);  // nobody decodes it: UR, all ones
  });
  EXPECT_GE(f.root.lookup("rc.unsupported_requests") ? dynamic_cast<const stats::Counter*>(
                                                             f.root.lookup("rc.unsupported_requests"))->value()
                                                       : 0,
            2u);
}

TEST(DmaEngine, WrittenDataLandsInMemoryAndVerifiedReadsMatch) {
  PcieFixture f;
  uint64_t wrote = 0, mismatches = 0, wrong = 0;
  sctest::run_in_thread([&] {
    f.configure();
    f.run_job(true, kBuf, 1 << 20, 256, 4096, 16, 0, false, false, 5);
    wrote = f.reg(dmae::RES_BYTES);
    f.run_job(false, kBuf, 1 << 20, 64, 2000, 16, 0, true, true, 5);
    mismatches = f.reg(dmae::RES_MISMATCHES);
    f.run_job(false, kBuf, 1 << 20, 64, 100, 16, 0, true, true, 6);
    wrong = f.reg(dmae::RES_MISMATCHES);
  });
  EXPECT_EQ(wrote, 1u << 20);
  std::vector<uint8_t> buf(1 << 20);
  ASSERT_TRUE(f.memory->backdoor_read(kBuf, buf.data(), buf.size()));
  EXPECT_EQ(count_mismatches(kBuf, 5, buf.data(), buf.size()), 0u);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(wrong, 100u * 64 / 2);
}

class DmaBandwidth : public ::testing::TestWithParam<std::tuple<bool, uint32_t, uint32_t>> {};

TEST_P(DmaBandwidth, WithinOnePercentOfThePcieBenchModel) {
  const auto [write, size, mps] = GetParam();
  LinkParams link;
  link.gen = 3;
  link.width = 8;
  link.mps = mps;
  PcieFixture f(link);
  double got = 0;
  const uint64_t count = 20000;
  sctest::run_in_thread([&] {
    f.configure(mps, 512);
    f.run_job(write, kBuf, count * 4096, size, count, 64, 4096);
    got = double(f.reg(dmae::RES_BYTES)) * 8 / double(f.reg(dmae::RES_ELAPSED_PS)) * 1000;
  });
  const double tlp = model_tlp_gbps(LinkTiming(3, 8, mps));
  const double want = write ? model_write(tlp, size, mps) : model_read(tlp, size, mps, 512);
  std::printf("bandwidth %s %u B MPS %u: %.3f Gb/s, model %.3f Gb/s, ratio %.5f\n", write ? "write" : "read", size,
              mps, got, want, got / want);
  EXPECT_NEAR(got / want, 1.0, 0.01) << (write ? "write " : "read ") << size << " B, MPS " << mps << ": " << got
                                     << " Gb/s vs model " << want;
}

INSTANTIATE_TEST_SUITE_P(Gen3x8, DmaBandwidth,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(64u, 128u, 192u, 256u, 257u, 512u, 1024u, 1500u, 2048u),
                                            ::testing::Values(128u, 256u)));

TEST(DmaEngine, C4_8_MsixArrivesAfterTheJobsDataAndCarriesTheRequesterId) {
  PcieFixture f;
  uint64_t doorbell_ps = 0, elapsed = 0;
  sctest::run_in_thread([&] {
    f.configure();
    const uint16_t cap = find_capability(f.engine->config(), PCI_CAP_ID_MSIX);
    f.cpu.write(f.ecam(1, 0, cap + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
    const uint64_t entry = PcieFixture::kBar0 + dmae::MSIX_TABLE + 2 * 16;
    f.cpu.write(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xFEE00000);
    f.cpu.write(entry + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
    f.cpu.write(entry + PCI_MSIX_ENTRY_DATA, 4, 0x42);
    f.cpu.write(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    f.cpu.write(PcieFixture::kBar0 + dmae::MSIX_VECTOR, 4, 2);
    using namespace dmae;
    f.cpu.write(PcieFixture::kBar0 + ADDR, 8, kBuf);
    f.cpu.write(PcieFixture::kBar0 + WINDOW, 8, 4096);
    f.cpu.write(PcieFixture::kBar0 + SIZE, 4, 4096);
    f.cpu.write(PcieFixture::kBar0 + COUNT, 8, 1);
    f.cpu.write(PcieFixture::kBar0 + OUTSTANDING, 4, 1);
    f.cpu.write(PcieFixture::kBar0 + CONTROL, 4, CTRL_WRITE | CTRL_IRQ);
    doorbell_ps = sc_core::sc_time_stamp().value();
    f.cpu.write(PcieFixture::kBar0 + DOORBELL, 4, 1);
    sc_core::wait(f.msi_event);
    elapsed = f.reg(RES_ELAPSED_PS);
  });
  ASSERT_EQ(f.msis.size(), 1u);
  EXPECT_EQ(f.msis[0].data, 0x42u);
  EXPECT_EQ(f.msis[0].address, 0xFEE00000u);
  EXPECT_EQ(f.msis[0].rid, 0x0100);  // 01:00.0
  EXPECT_GT(f.msis[0].arrival_ps, doorbell_ps + elapsed);  // behind all 16 data TLPs
  EXPECT_EQ(f.memory->store().pages_allocated(), 1u);  // the MSI did not go to memory
}

TEST(DmaEngine, MaskedVectorPendsUntilUnmasked) {
  PcieFixture f;
  uint64_t pba = 0;
  size_t before_unmask = 0;
  sctest::run_in_thread([&] {
    f.configure();
    const uint16_t cap = find_capability(f.engine->config(), PCI_CAP_ID_MSIX);
    f.cpu.write(f.ecam(1, 0, cap + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
    const uint64_t entry = PcieFixture::kBar0 + dmae::MSIX_TABLE;
    f.cpu.write(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xFEE00000);
    f.cpu.write(entry + PCI_MSIX_ENTRY_DATA, 4, 7);  // entry 0 stays masked (reset value)
    f.cpu.write(PcieFixture::kBar0 + dmae::CONTROL, 4, dmae::CTRL_IRQ);
    f.cpu.write(PcieFixture::kBar0 + dmae::ADDR, 8, kBuf);
    f.cpu.write(PcieFixture::kBar0 + dmae::WINDOW, 8, 64);
    f.cpu.write(PcieFixture::kBar0 + dmae::SIZE, 4, 64);
    f.cpu.write(PcieFixture::kBar0 + dmae::COUNT, 8, 1);
    f.cpu.write(PcieFixture::kBar0 + dmae::OUTSTANDING, 4, 1);
    f.cpu.write(PcieFixture::kBar0 + dmae::DOORBELL, 4, 1);
    sc_core::wait(sc_core::sc_time(10, sc_core::SC_US));
    pba = f.cpu.read(PcieFixture::kBar0 + dmae::MSIX_PBA, 8);
    before_unmask = f.msis.size();
    f.cpu.write(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    sc_core::wait(sc_core::sc_time(10, sc_core::SC_US));
  });
  EXPECT_EQ(pba, 1u);
  EXPECT_EQ(before_unmask, 0u);
  ASSERT_EQ(f.msis.size(), 1u);
  EXPECT_EQ(f.msis[0].data, 7u);
}

TEST(DmaEngine, C1_14_NoBusMasterNoTraffic) {
  PcieFixture f;
  uint64_t errors = 0;
  sctest::run_in_thread([&] {
    f.configure();
    f.cpu.write(f.ecam(1, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);  // BME off
    f.run_job(true, kBuf, 4096, 64, 8, 4);
    errors = f.reg(dmae::RES_ERRORS);
  });
  EXPECT_EQ(errors, 8u);
  EXPECT_EQ(dynamic_cast<const stats::Counter*>(f.root.lookup("memory.bytes_written"))->value(), 0u);
  EXPECT_EQ(dynamic_cast<const stats::Counter*>(f.root.lookup("rc.blocked_no_bus_master"))->value(), 8u);
}

TEST(DmaEngine, C1_19_FunctionLevelResetRestoresDefaults) {
  PcieFixture f;
  uint32_t devctl = 0, cmd = 0, bar = 0, msix = 0;
  sctest::run_in_thread([&] {
    f.configure();
    const uint16_t msix_cap = find_capability(f.engine->config(), PCI_CAP_ID_MSIX);
    f.cpu.write(f.ecam(1, 0, msix_cap + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
    const uint32_t cap = f.engine->pcie_cap();
    f.cpu.write(f.ecam(1, 0, cap + PCI_EXP_DEVCTL), 2, PCI_EXP_DEVCTL_BCR_FLR);
    devctl = static_cast<uint32_t>(f.cpu.read(f.ecam(1, 0, cap + PCI_EXP_DEVCTL), 2));
    cmd = static_cast<uint32_t>(f.cpu.read(f.ecam(1, 0, PCI_COMMAND), 2));
    bar = static_cast<uint32_t>(f.cpu.read(f.ecam(1, 0, PCI_BASE_ADDRESS_0), 4));
    msix = static_cast<uint32_t>(f.cpu.read(f.ecam(1, 0, msix_cap + PCI_MSIX_FLAGS), 2));
  });
  EXPECT_EQ(devctl & PCI_EXP_DEVCTL_BCR_FLR, 0u);
  EXPECT_EQ(cmd, 0u);
  EXPECT_EQ(bar, 0u);
  EXPECT_EQ(msix & PCI_MSIX_FLAGS_ENABLE, 0u);
  EXPECT_EQ(f.engine->resets(), 1u);
}

namespace {
// Runs a one-request job with CTRL_IRQ raising `vector`; returns after 20 us.
void one_job_with_irq(PcieFixture& f, uint32_t vector) {
  using namespace dmae;
  f.cpu.write(PcieFixture::kBar0 + MSIX_VECTOR, 4, vector);
  f.cpu.write(PcieFixture::kBar0 + CONTROL, 4, CTRL_IRQ | CTRL_WRITE);
  f.cpu.write(PcieFixture::kBar0 + ADDR, 8, kBuf);
  f.cpu.write(PcieFixture::kBar0 + WINDOW, 8, 64);
  f.cpu.write(PcieFixture::kBar0 + SIZE, 4, 64);
  f.cpu.write(PcieFixture::kBar0 + COUNT, 8, 1);
  f.cpu.write(PcieFixture::kBar0 + OUTSTANDING, 4, 1);
  f.cpu.write(PcieFixture::kBar0 + DOORBELL, 4, 1);
  sc_core::wait(sc_core::sc_time(20, sc_core::SC_US));
}
}  // namespace

TEST(DmaEngine, C1_13_MsiMultipleMessageReplacesTheLowDataBits) {
  PcieFixture f;
  sctest::run_in_thread([&] {
    f.configure();
    const uint16_t msi = find_capability(f.engine->config(), PCI_CAP_ID_MSI);
    EXPECT_EQ((f.engine->config().get(msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1, 3u);  // MMC = 3
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_ADDRESS_LO), 4, 0xFEE00000);
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_ADDRESS_HI), 4, 0);
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_DATA_64), 2, 0x4020);
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_FLAGS), 2, PCI_MSI_FLAGS_ENABLE | (2u << 4));  // MME = 2
    one_job_with_irq(f, 3);
  });
  ASSERT_EQ(f.msis.size(), 1u);
  EXPECT_EQ(f.msis[0].data, 0x4023u);
  EXPECT_EQ(f.msis[0].address, 0xFEE00000u);
  EXPECT_EQ(f.msis[0].rid, 0x0100);
}

TEST(DmaEngine, C1_16_MsiAndMsixBothEnabledSendsNothing) {
  PcieFixture f;
  sctest::run_in_thread([&] {
    f.configure();
    const uint16_t msi = find_capability(f.engine->config(), PCI_CAP_ID_MSI);
    const uint16_t msix = find_capability(f.engine->config(), PCI_CAP_ID_MSIX);
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_ADDRESS_LO), 4, 0xFEE00000);
    f.cpu.write(f.ecam(1, 0, msi + PCI_MSI_FLAGS), 2, PCI_MSI_FLAGS_ENABLE);
    f.cpu.write(f.ecam(1, 0, msix + PCI_MSIX_FLAGS), 2, PCI_MSIX_FLAGS_ENABLE);
    const uint64_t entry = PcieFixture::kBar0 + dmae::MSIX_TABLE;
    f.cpu.write(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xFEE00000);
    f.cpu.write(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
    one_job_with_irq(f, 0);
  });
  EXPECT_TRUE(f.msis.empty());
  EXPECT_EQ(dynamic_cast<const stats::Counter*>(f.root.lookup("dmae.interrupt_errors"))->value(), 1u);
}
