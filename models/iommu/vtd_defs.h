// Intel VT-d architecture definitions (spec D51397 ch. 9-11): register offsets and bits, the legacy
// root/context entry and second-level paging entry formats, 128-bit invalidation descriptors, the
// fault-recording register layout and fault reasons. Both the IOMMU model and the kernel driver use
// this file, as both sides of a PCI device use <linux/pci_regs.h>: it describes the hardware
// interface, not either side's implementation.
#pragma once

#include <cstdint>

namespace vfiosim::vtd {

// ---- Registers (offsets from the remapping unit's base) ----
constexpr uint32_t VER_REG = 0x00;
constexpr uint32_t CAP_REG = 0x08;
constexpr uint32_t ECAP_REG = 0x10;
constexpr uint32_t GCMD_REG = 0x18;
constexpr uint32_t GSTS_REG = 0x1C;
constexpr uint32_t RTADDR_REG = 0x20;
constexpr uint32_t CCMD_REG = 0x28;
constexpr uint32_t FSTS_REG = 0x34;
constexpr uint32_t FECTL_REG = 0x38;
constexpr uint32_t FEDATA_REG = 0x3C;
constexpr uint32_t FEADDR_REG = 0x40;
constexpr uint32_t FEUADDR_REG = 0x44;
constexpr uint32_t IQH_REG = 0x80;
constexpr uint32_t IQT_REG = 0x88;
constexpr uint32_t IQA_REG = 0x90;
constexpr uint32_t ICS_REG = 0x9C;
constexpr uint32_t IECTL_REG = 0xA0;
constexpr uint32_t IEDATA_REG = 0xA4;
constexpr uint32_t IEADDR_REG = 0xA8;
constexpr uint32_t IEUADDR_REG = 0xAC;
constexpr uint32_t kRegSize = 0x1000;  // one 4 KiB register page
constexpr uint32_t kIroOffset = 0x200;  // where the model puts its IOTLB registers (IVA, IOTLB)
/// Where the model puts its `nfr` fault-recording registers (16 bytes each).
constexpr uint32_t fro_offset(unsigned nfr) { return nfr <= 16 ? 0x100 : 0x400; }

// CAP_REG fields
constexpr uint64_t cap_nd(uint64_t c) { return c & 7; }
constexpr unsigned cap_sagaw(uint64_t c) { return static_cast<unsigned>((c >> 8) & 0x1F); }
constexpr unsigned cap_mgaw(uint64_t c) { return static_cast<unsigned>(((c >> 16) & 0x3F) + 1); }
constexpr uint32_t cap_fro(uint64_t c) { return static_cast<uint32_t>(((c >> 24) & 0x3FF) * 16); }
constexpr unsigned cap_sllps(uint64_t c) { return static_cast<unsigned>((c >> 34) & 0xF); }
constexpr bool cap_psi(uint64_t c) { return (c >> 39) & 1; }
constexpr unsigned cap_nfr(uint64_t c) { return static_cast<unsigned>(((c >> 40) & 0xFF) + 1); }
constexpr unsigned cap_mamv(uint64_t c) { return static_cast<unsigned>((c >> 48) & 0x3F); }
constexpr uint64_t CAP_ZLR = 1ULL << 22;
constexpr uint64_t CAP_DWD = 1ULL << 54;
constexpr uint64_t CAP_DRD = 1ULL << 55;
// ECAP_REG bits
constexpr uint64_t ECAP_C = 1ULL << 0;   // page walks snoop CPU caches
constexpr uint64_t ECAP_QI = 1ULL << 1;  // queued invalidation
constexpr uint64_t ECAP_DT = 1ULL << 2;  // device-TLB (ATS)
constexpr uint64_t ECAP_IR = 1ULL << 3;  // interrupt remapping
constexpr uint64_t ECAP_PT = 1ULL << 6;  // pass-through contexts
constexpr uint64_t ECAP_SC = 1ULL << 7;  // snoop control
constexpr uint32_t ecap_iro(uint64_t e) { return static_cast<uint32_t>(((e >> 8) & 0x3FF) * 16); }

// GCMD_REG / GSTS_REG bits
constexpr uint32_t GCMD_TE = 1u << 31;    // translation enable
constexpr uint32_t GCMD_SRTP = 1u << 30;  // set root table pointer
constexpr uint32_t GCMD_QIE = 1u << 26;   // queued invalidation enable
constexpr uint32_t GSTS_TES = 1u << 31;
constexpr uint32_t GSTS_RTPS = 1u << 30;
constexpr uint32_t GSTS_QIES = 1u << 26;
// FSTS_REG bits
constexpr uint32_t FSTS_PFO = 1u << 0;  // primary fault overflow (RW1C)
constexpr uint32_t FSTS_PPF = 1u << 1;  // primary pending fault (RO: OR of the F bits)
constexpr uint32_t FSTS_IQE = 1u << 4;  // invalidation queue error (RW1C)
constexpr uint32_t FSTS_ICE = 1u << 5;
constexpr uint32_t FSTS_ITE = 1u << 6;
constexpr unsigned fsts_fri(uint32_t s) { return (s >> 8) & 0xFF; }
// FECTL / IECTL
constexpr uint32_t ECTL_IM = 1u << 31;  // interrupt mask
constexpr uint32_t ECTL_IP = 1u << 30;  // interrupt pending
// ICS
constexpr uint32_t ICS_IWC = 1u << 0;  // invalidation wait descriptor complete (RW1C)
// IQA
constexpr uint64_t IQA_DW = 1ULL << 11;  // 256-bit descriptors (scalable mode): not supported here
constexpr unsigned iqa_qs(uint64_t v) { return static_cast<unsigned>(v & 7); }
constexpr uint64_t iqa_base(uint64_t v) { return v & ~0xFFFULL; }
constexpr unsigned kDescShift = 4;  // 128-bit descriptors: IQH/IQT = index << 4

// ---- Translation structures (legacy mode) ----
constexpr uint64_t ROOT_P = 1ULL << 0;
constexpr uint64_t CTX_P = 1ULL << 0;
constexpr uint64_t CTX_FPD = 1ULL << 1;  // fault processing disable
constexpr unsigned ctx_tt(uint64_t lo) { return static_cast<unsigned>((lo >> 2) & 3); }
constexpr uint64_t CTX_TT_MULTI_LEVEL = 0;
constexpr uint64_t CTX_TT_DEV_IOTLB = 1;
constexpr uint64_t CTX_TT_PASS_THROUGH = 2;
constexpr unsigned ctx_aw(uint64_t hi) { return static_cast<unsigned>(hi & 7); }
constexpr uint16_t ctx_did(uint64_t hi) { return static_cast<uint16_t>((hi >> 8) & 0xFFFF); }
constexpr uint64_t kAddrMask = 0x000FFFFFFFFFF000ULL;  // bits 51:12

// AW / SAGAW encoding: 1 = 39-bit (3 levels), 2 = 48-bit (4), 3 = 57-bit (5).
constexpr unsigned aw_levels(unsigned aw) { return aw + 2; }
constexpr unsigned aw_bits(unsigned aw) { return 30 + 9 * aw; }
constexpr unsigned levels_to_aw(unsigned levels) { return levels - 2; }

// Second-level paging entries
constexpr uint64_t SL_R = 1ULL << 0;
constexpr uint64_t SL_W = 1ULL << 1;
constexpr uint64_t SL_PS = 1ULL << 7;    // superpage (level 2: 2 MiB, level 3: 1 GiB)
constexpr uint64_t SL_SNP = 1ULL << 11;  // snoop
/// Reserved bits of a second-level entry checked by the model (62:52).
constexpr uint64_t kSlReserved = 0x7FF0000000000000ULL;
/// Level of a paging structure: 1 = page table (4 KiB pages), 2 = page directory, ...
constexpr unsigned level_shift(unsigned level) { return 12 + 9 * (level - 1); }
constexpr unsigned level_index(uint64_t iova, unsigned level) {
  return static_cast<unsigned>((iova >> level_shift(level)) & 0x1FF);
}

// ---- Invalidation descriptors (128-bit) ----
constexpr uint64_t QI_CC_TYPE = 0x1;
constexpr uint64_t QI_IOTLB_TYPE = 0x2;
constexpr uint64_t QI_DIOTLB_TYPE = 0x3;
constexpr uint64_t QI_IEC_TYPE = 0x4;
constexpr uint64_t QI_IWD_TYPE = 0x5;
constexpr unsigned qi_type(uint64_t lo) { return static_cast<unsigned>(lo & 0xF); }
constexpr unsigned qi_gran(uint64_t lo) { return static_cast<unsigned>((lo >> 4) & 3); }
constexpr uint64_t qi_gran_field(unsigned g) { return static_cast<uint64_t>(g) << 4; }
constexpr unsigned kGranGlobal = 1, kGranDomain = 2, kGranPage = 3;  // (device for context-cache)
constexpr uint16_t qi_did(uint64_t lo) { return static_cast<uint16_t>((lo >> 16) & 0xFFFF); }
constexpr uint64_t qi_did_field(uint16_t did) { return static_cast<uint64_t>(did) << 16; }
constexpr uint16_t qi_sid(uint64_t lo) { return static_cast<uint16_t>((lo >> 32) & 0xFFFF); }
constexpr uint64_t qi_sid_field(uint16_t sid) { return static_cast<uint64_t>(sid) << 32; }
constexpr uint64_t QI_IOTLB_DR = 1ULL << 7;
constexpr uint64_t QI_IOTLB_DW = 1ULL << 6;
constexpr uint64_t QI_IOTLB_IH = 1ULL << 6;  // in the high qword
constexpr unsigned qi_iotlb_am(uint64_t hi) { return static_cast<unsigned>(hi & 0x3F); }
constexpr uint64_t QI_IWD_IF = 1ULL << 4;  // interrupt on completion
constexpr uint64_t QI_IWD_SW = 1ULL << 5;  // status write
constexpr uint64_t QI_IWD_FN = 1ULL << 6;  // fence
constexpr uint32_t qi_iwd_status(uint64_t lo) { return static_cast<uint32_t>(lo >> 32); }
constexpr uint64_t qi_iwd_status_field(uint32_t v) { return static_cast<uint64_t>(v) << 32; }

// ---- Fault recording (each register is 128 bits) ----
constexpr uint64_t FRCD_HI_F = 1ULL << 63;
constexpr uint64_t FRCD_HI_T = 1ULL << 62;  // 1: read request, 0: write request
constexpr uint64_t frcd_hi(uint16_t sid, uint8_t reason, bool read) {
  return FRCD_HI_F | (read ? FRCD_HI_T : 0) | (static_cast<uint64_t>(reason) << 32) | sid;
}

/// Fault reasons (legacy mode, VT-d table "Unrecoverable Fault Conditions").
enum FaultReason : uint8_t {
  kRootNotPresent = 0x1,
  kContextNotPresent = 0x2,
  kContextInvalid = 0x3,
  kAddressBeyondAw = 0x4,
  kWriteDenied = 0x5,
  kReadDenied = 0x6,
  kPagingEntryAccess = 0x7,
  kRootTableAccess = 0x8,
  kContextTableAccess = 0x9,
  kRootReserved = 0xA,
  kContextReserved = 0xB,
  kPagingEntryReserved = 0xC,
  kTranslationBlocked = 0xD,  // TT does not allow this request type
};
inline const char* fault_reason_name(uint8_t reason) {
  switch (reason) {
    case kRootNotPresent: return "root entry not present";
    case kContextNotPresent: return "context entry not present";
    case kContextInvalid: return "invalid context entry";
    case kAddressBeyondAw: return "address beyond the domain's address width";
    case kWriteDenied: return "write to a page without write permission";
    case kReadDenied: return "read from a page without read permission";
    case kPagingEntryAccess: return "paging entry could not be read";
    case kRootTableAccess: return "root table could not be read";
    case kContextTableAccess: return "context table could not be read";
    case kRootReserved: return "reserved bit set in a root entry";
    case kContextReserved: return "reserved bit set in a context entry";
    case kPagingEntryReserved: return "reserved bit set in a paging entry";
    case kTranslationBlocked: return "request type blocked by the context";
    default: return "unknown fault reason";
  }
}

}  // namespace vfiosim::vtd
