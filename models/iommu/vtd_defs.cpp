#include "models/iommu/vtd_defs.h"

namespace vfiosim::vtd {

const char* fault_reason_name(uint8_t reason) {
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
