// Transaction-layer packets as the timing model needs them: header and wire sizes, how a request
// is split into TLPs (MPS/MRRS and the 4 KiB rule), how a read is answered in completions (MPS and
// the read completion boundary), and the flow-control credits a TLP consumes.
// Spec: pci-ccw.md A4.1-A4.5; sizes agree with the pcie-bench model (perf-anchors.md §1.1).
#pragma once

#include <cstdint>
#include <vector>

namespace vfiosim::pci {

enum class TlpType { MemRead, MemWrite, Completion, CompletionData, ConfigRead, ConfigWrite, Message };

/// Framing and data-link bytes around every TLP on the wire: STP/SDP token, sequence number and
/// LCRC (8 B for 8b/10b and 128b/130b links alike, A4.2).
constexpr uint32_t kFramingBytes = 8;
/// Optional end-to-end CRC digest.
constexpr uint32_t kEcrcBytes = 4;

/// Header bytes: 4 DW for memory requests above 4 GiB and messages, 3 DW otherwise (A4.1).
uint32_t header_bytes(TlpType type, uint64_t address);

/// Bytes one TLP occupies on the link: framing + header + payload (+ ECRC).
uint32_t wire_bytes(TlpType type, uint64_t address, uint32_t payload, bool ecrc = false);

bool is_posted(TlpType type);
bool is_completion(TlpType type);

struct Chunk {
  uint64_t address;
  uint32_t length;
};

/// Calls fn(Chunk) for each TLP-sized piece of a request of `length` bytes at `address`: at most
/// `max_size` bytes each (MPS for writes, MRRS for reads) and never crossing a 4 KiB boundary
/// (A4.4). Allocation-free; split_request() collects the same pieces.
template <typename Fn>
void for_each_request_chunk(uint64_t address, uint64_t length, uint32_t max_size, Fn&& fn) {
  while (length) {
    const uint64_t to_boundary = 4096 - (address % 4096);
    uint64_t n = length < max_size ? length : max_size;
    if (n > to_boundary) n = to_boundary;
    fn(Chunk{address, static_cast<uint32_t>(n)});
    address += n;
    length -= n;
  }
}
std::vector<Chunk> split_request(uint64_t address, uint64_t length, uint32_t max_size);

struct CompletionChunk {
  uint64_t address;
  uint32_t length;
  uint32_t byte_count;     // bytes still to come for the request, this one included
  uint8_t lower_address;   // low 7 bits of the first byte's address
};

/// The completer's greedy split of a read: each completion at most `mps` bytes, and every one
/// but the last ends on a naturally aligned `rcb` boundary (A4.4, C4.5). Calls fn(CompletionChunk).
template <typename Fn>
void for_each_completion(uint64_t address, uint32_t length, uint32_t mps, uint32_t rcb, Fn&& fn) {
  uint32_t remaining = length;
  while (remaining) {
    uint32_t n = remaining < mps ? remaining : mps;
    if (n < remaining) {
      // Not the last: end on an RCB boundary (the first may start unaligned).
      const uint64_t end = (address + n) / rcb * rcb;
      if (end > address) n = static_cast<uint32_t>(end - address);  // rcb > mps: no aligned cut fits
    }
    fn(CompletionChunk{address, n, remaining, static_cast<uint8_t>(address & 0x7f)});
    address += n;
    remaining -= n;
  }
}
std::vector<CompletionChunk> split_completion(uint64_t address, uint32_t length, uint32_t mps, uint32_t rcb);

enum class CreditType { PostedHeader, PostedData, NonPostedHeader, NonPostedData, CompletionHeader, CompletionData };
constexpr int kCreditTypes = 6;

struct CreditNeed {
  CreditType header;
  CreditType data;
  uint32_t header_credits;  // always 1
  uint32_t data_credits;    // one per 16 bytes of payload, rounded up
};

/// The credits a TLP consumes at its receiver (A4.5, C4.7).
CreditNeed credits_for(TlpType type, uint32_t payload);

}  // namespace vfiosim::pci
