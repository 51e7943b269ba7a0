// Capability chains (struct vfio_info_cap_header: id, version, next) of VFIO_DEVICE_GET_INFO,
// VFIO_DEVICE_GET_REGION_INFO and VFIO_IOMMU_GET_INFO. In JSON a chain is an object keyed by
// capability: VFIO_IOMMU_GET_INFO's "iova_ranges" ([{start, end}]), "migration" ({flags,
// pgsize_bitmap, max_dirty_bitmap_size}) and "dma_avail" (a number); GET_REGION_INFO's
// "sparse_mmap" ([{offset, size}]), "type" ({type, subtype}) and "msix_mappable" (true); any other
// id under "unknown" ([{id, version}]). Offsets are from the start of the info struct.
//
// Decoding trusts nothing: a capability must lie after the struct's header and wholly inside the
// buffer, a chain that comes back to an offset it visited stops there, and at most kMaxCaps are
// read. What stopped a chain is reported in `malformed`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vfio/uapi/value.h"

namespace vfiosim::uapi {

constexpr int kMaxCaps = 64;

/// Whether structs of this type carry a chain (they have cap_offset).
bool has_caps(const std::string& owner);

/// The chain of an `owner` struct (its first `header` bytes) starting at `first` in the `n`
/// bytes at `p`; first == 0 is an empty chain.
nlohmann::json decode_caps(const std::string& owner, const uint8_t* p, size_t n, size_t header, uint32_t first,
                           std::vector<std::string>& malformed);

/// Appends the chain `caps` (decode_caps's form) to `buf`, each capability 8-byte aligned, and
/// returns the offset of the first (0 when there is none).
Result<uint32_t> encode_caps(const std::string& owner, const nlohmann::json& caps, const Resolver& resolve,
                             const std::string& path, std::vector<uint8_t>& buf);

}  // namespace vfiosim::uapi
