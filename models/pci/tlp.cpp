#include "models/pci/tlp.h"

#include <algorithm>

namespace vfiosim::pci {

namespace {
constexpr uint64_t k4GiB = 1ULL << 32;
}  // namespace

uint32_t header_bytes(TlpType type, uint64_t address) {
  switch (type) {
    case TlpType::MemRead:
    case TlpType::MemWrite: return address >= k4GiB ? 16 : 12;
    case TlpType::Message: return 16;
    default: return 12;
  }
}

uint32_t wire_bytes(TlpType type, uint64_t address, uint32_t payload, bool ecrc) {
  return kFramingBytes + header_bytes(type, address) + payload + (ecrc ? kEcrcBytes : 0);
}

bool is_posted(TlpType type) { return type == TlpType::MemWrite || type == TlpType::Message; }
bool is_completion(TlpType type) { return type == TlpType::Completion || type == TlpType::CompletionData; }

std::vector<Chunk> split_request(uint64_t address, uint64_t length, uint32_t max_size) {
  std::vector<Chunk> out;
  for_each_request_chunk(address, length, max_size, [&](const Chunk& c) { out.push_back(c); });
  return out;
}

std::vector<CompletionChunk> split_completion(uint64_t address, uint32_t length, uint32_t mps, uint32_t rcb) {
  std::vector<CompletionChunk> out;
  for_each_completion(address, length, mps, rcb, [&](const CompletionChunk& c) { out.push_back(c); });
  return out;
}

CreditNeed credits_for(TlpType type, uint32_t payload) {
  const uint32_t data = (payload + 15) / 16;
  if (is_posted(type)) return {CreditType::PostedHeader, CreditType::PostedData, 1, data};
  if (is_completion(type)) return {CreditType::CompletionHeader, CreditType::CompletionData, 1, data};
  return {CreditType::NonPostedHeader, CreditType::NonPostedData, 1, data};
}

}  // namespace vfiosim::pci
