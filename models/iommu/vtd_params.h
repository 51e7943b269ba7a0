// Parameters of the VT-d IOMMU model: what its capability registers advertise, the sizes and
// latencies of its caches, its page walkers, its invalidation queue and its path to memory. All
// latencies are in IOMMU clock cycles. Presets (`preset`) are named sets of these parameters;
// fields written next to a preset override it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/iommu/set_assoc_cache.h"
#include "sim/config/spec.h"

namespace vfiosim::iommu {

struct VtdParams {
  uint64_t clock_mhz = 1000;
  uint64_t base = 0xFED90000;  // MMIO base of the register page (DMAR unit)
  // The unit's device scope in the DMAR table: root-bus devices ("00:02.0": root ports, whose whole
  // hierarchy it remaps, or integrated endpoints). Empty: INCLUDE_PCI_ALL, every device no other
  // unit lists.
  std::vector<std::string> scope;
  // Capabilities
  std::vector<unsigned> levels = {4};  // supported second-level depths (SAGAW): 3, 4, 5
  bool superpage_2m = true;            // CAP.SLLPS bit 0
  bool superpage_1g = true;            // CAP.SLLPS bit 1
  unsigned fault_records = 8;          // CAP.NFR + 1
  unsigned domain_bits = 16;           // CAP.ND: 2^(4 + 2*ND) domains; 4..16 even
  bool psi = true;                     // page-selective invalidation
  unsigned mamv = 18;                  // max address mask value of a PSI
  bool pass_through = true;            // ECAP.PT
  bool coherent = true;                // ECAP.C
  bool interrupt_remapping = true;     // ECAP.IR advertised (remapping itself is not modelled)
  bool snoop_control = true;           // ECAP.SC: the SNP bit forces snooped DMA (IOMMU_CACHE)
  // Caches
  CacheGeometry context_cache{16, 16, "lru"};
  CacheGeometry iotlb{64, 4, "lru"};
  CacheGeometry pwc[4] = {{16, 4, "lru"}, {4, 4, "lru"}, {4, 4, "lru"}, {4, 4, "lru"}};  // L1 (PDE) .. L4 (PML5E)
  // Timing
  uint64_t lookup_cycles = 4;       // IOTLB (and context-cache) lookup, hit or miss
  uint64_t pwc_cycles = 2;          // paging-structure cache lookup on a miss
  uint64_t walk_setup_cycles = 8;   // from an IOTLB miss to a walker starting
  uint64_t walk_step_cycles = 4;    // processing one fetched entry
  uint64_t fabric_cycles = 0;       // the walker's path to memory, each way
  unsigned walkers = 4;             // concurrent page walks
  uint64_t qi_desc_cycles = 20;     // processing one invalidation descriptor
  uint64_t fault_cycles = 10;       // recording a fault
  uint64_t register_cycles = 10;    // serving a register access

  static std::shared_ptr<const config::ObjectSpec> spec();
  static VtdParams from(const config::json& resolved);
  /// Merges the preset named in `written["preset"]` (if known) under the fields written; returns
  /// `written` unchanged otherwise. Run before validation, on the layer as written.
  static config::json expand_preset(const config::json& written);
  static std::vector<std::string> preset_names();

  /// The CAP and ECAP register values these parameters advertise.
  uint64_t cap() const;
  uint64_t ecap() const;
};

}  // namespace vfiosim::iommu
