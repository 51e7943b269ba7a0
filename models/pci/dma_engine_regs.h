// Register map of the vfiosim DMA engine (BAR0, 16 KiB). Documented in docs/dma-engine.md.
#pragma once

#include <cstdint>

namespace vfiosim::pci::dmae {

constexpr uint16_t kVendorId = 0x1b36;  // Red Hat, Inc.: the ID QEMU uses for its test devices
constexpr uint16_t kDeviceId = 0x0d0e;  // vfiosim DMA engine
constexpr uint16_t kDeviceIdFunc1Alias = 0x0d0f;  // variant that DMAs with function 1's requester ID
constexpr uint16_t kDeviceIdVf = 0x0d10;  // SR-IOV virtual function (the PF's VF Device ID)
constexpr uint32_t kClassCode = 0x088000;  // system peripheral, other
constexpr uint64_t kBar0Size = 16 * 1024;

constexpr uint32_t kIdValue = 0x444D4145;  // "DMAE"
constexpr uint32_t kVersionValue = 0x00010000;

enum Reg : uint32_t {
  ID = 0x000,           // RO
  VERSION = 0x004,      // RO
  CONTROL = 0x008,      // RW: CTRL_* bits
  DOORBELL = 0x00C,     // WO: write 1 to start a job
  STATUS = 0x010,       // BUSY RO; DONE, ERROR RW1C
  ADDR = 0x018,         // 64-bit: first byte of the window (bus address: IOVA or physical)
  WINDOW = 0x020,       // 64-bit: bytes the addresses stay within
  SIZE = 0x028,         // bytes per request
  OUTSTANDING = 0x02C,  // requests in flight at most (<= TAGS)
  COUNT = 0x030,        // 64-bit: requests
  DATA_SEED = 0x038,    // data pattern selector
  MSIX_VECTOR = 0x03C,  // vector raised on completion when CTRL_IRQ
  TAGS = 0x040,         // RO: hardware tag limit
  RES_REQUESTS = 0x048,      // 64-bit results, valid when DONE
  RES_BYTES = 0x050,
  RES_ERRORS = 0x058,
  RES_MISMATCHES = 0x060,
  RES_ELAPSED_PS = 0x068,    // first issue to last completion
  RES_LAT_MIN_PS = 0x070,
  RES_LAT_P50_PS = 0x078,
  RES_LAT_P90_PS = 0x080,
  RES_LAT_P99_PS = 0x088,
  RES_LAT_MAX_PS = 0x090,
  RES_LAT_MEAN_PS = 0x098,
  STRIDE = 0x0A0,       // bytes between request slots (0: SIZE)
  PATTERN_ADDR = 0x0A8, // 64-bit: address whose data pattern the window's first byte carries (0: ADDR)
  MSIX_TABLE = 0x2000,  // 16 bytes per entry
  MSIX_PBA = 0x3000,
};

enum Control : uint32_t {
  CTRL_WRITE = 1u << 0,   // 1: write host memory; 0: read it
  CTRL_RANDOM = 1u << 1,  // uniform random slots in the window; 0: sequential
  CTRL_VERIFY = 1u << 2,  // reads: compare with the data pattern
  CTRL_IRQ = 1u << 3,     // raise MSIX_VECTOR when the job completes
};

enum Status : uint32_t {
  STATUS_BUSY = 1u << 0,
  STATUS_DONE = 1u << 1,
  STATUS_ERROR = 1u << 2,
};

constexpr unsigned kMsixVectors = 8;

}  // namespace vfiosim::pci::dmae
