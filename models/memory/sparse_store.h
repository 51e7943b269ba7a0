// Sparse backing store for a 64-bit physical address space: 4 KiB pages allocated on first
// write; reads of untouched memory return zeros without allocating. A 1 TiB space with 1 GiB
// touched costs about 1 GiB of host memory (plus ~0.2% for the page index: 512 B per touched
// 256 KiB region, at worst 12.5% when every touched page is alone in its region).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace vfiosim {

class SparseStore {
 public:
  static constexpr uint64_t kPageSize = 4096;

  explicit SparseStore(uint64_t size) : size_(size) {}

  uint64_t size() const { return size_; }
  /// True when [addr, addr+len) lies inside the address space.
  bool contains(uint64_t addr, uint64_t len) const { return len <= size_ && addr <= size_ - len; }

  /// Copies out; false (and nothing copied) when the range is outside the space.
  bool read(uint64_t addr, void* dst, uint64_t len) const;
  bool write(uint64_t addr, const void* src, uint64_t len);
  bool fill(uint64_t addr, uint8_t value, uint64_t len);

  uint64_t pages_allocated() const { return pages_; }
  uint64_t bytes_allocated() const { return pages_ * kPageSize; }

 private:
  using Page = std::unique_ptr<uint8_t[]>;
  // Two levels: a hash of 256 KiB regions, each a directly indexed table of its 64 pages, so a
  // random access inside a buffer costs one small-map probe and an array index.
  static constexpr unsigned kLeafBits = 6;
  struct Leaf {
    Page pages[1u << kLeafBits];
  };
  uint8_t* page_for_write(uint64_t page_no);
  const uint8_t* page_for_read(uint64_t page_no) const;
  Leaf* leaf_of(uint64_t leaf_no) const;

  uint64_t size_;
  std::unordered_map<uint64_t, std::unique_ptr<Leaf>> leaves_;
  uint64_t pages_ = 0;
  mutable uint64_t last_no_ = ~0ULL;  // one-entry lookup caches: DMA streams hit one page in a row
  mutable uint8_t* last_page_ = nullptr;
  mutable uint64_t last_leaf_no_ = ~0ULL;
  mutable Leaf* last_leaf_ = nullptr;
};

}  // namespace vfiosim
