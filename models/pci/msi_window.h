// The x86 MSI address window (platform firmware data, an ABI the kernel sees): message writes to
// [kMsiBase, kMsiBase + kMsiSize) are interrupts, not memory. The root complex decodes it; the
// Linux side programs MSI addresses into it and reserves it in IOMMU domains.
#pragma once

#include <cstdint>

namespace vfiosim::pci {

constexpr uint64_t kMsiBase = 0xFEE00000;
constexpr uint64_t kMsiSize = 0x100000;

}  // namespace vfiosim::pci
