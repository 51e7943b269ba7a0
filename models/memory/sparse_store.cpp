#include "models/memory/sparse_store.h"

#include <algorithm>
#include <cstring>

namespace vfiosim {

SparseStore::Leaf* SparseStore::leaf_of(uint64_t leaf_no) const {
  if (leaf_no == last_leaf_no_) return last_leaf_;
  auto it = leaves_.find(leaf_no);
  if (it == leaves_.end()) return nullptr;
  last_leaf_no_ = leaf_no;
  last_leaf_ = it->second.get();
  return last_leaf_;
}

uint8_t* SparseStore::page_for_write(uint64_t page_no) {
  if (page_no == last_no_ && last_page_) return last_page_;
  const uint64_t leaf_no = page_no >> kLeafBits;
  Leaf* leaf = leaf_of(leaf_no);
  if (!leaf) {
    auto& slot = leaves_[leaf_no];
    slot = std::make_unique<Leaf>();
    leaf = slot.get();
    last_leaf_no_ = leaf_no;
    last_leaf_ = leaf;
  }
  Page& page = leaf->pages[page_no & ((1u << kLeafBits) - 1)];
  if (!page) {
    page.reset(new uint8_t[kPageSize]);
    std::memset(page.get(), 0, kPageSize);
    ++pages_;
  }
  last_no_ = page_no;
  last_page_ = page.get();
  return last_page_;
}

const uint8_t* SparseStore::page_for_read(uint64_t page_no) const {
  if (page_no == last_no_ && last_page_) return last_page_;
  const Leaf* leaf = leaf_of(page_no >> kLeafBits);
  if (!leaf) return nullptr;
  const uint8_t* page = leaf->pages[page_no & ((1u << kLeafBits) - 1)].get();
  if (!page) return nullptr;
  last_no_ = page_no;
  last_page_ = const_cast<uint8_t*>(page);
  return page;
}

bool SparseStore::read(uint64_t addr, void* dst, uint64_t len) const {
  if (!contains(addr, len)) return false;
  auto* out = static_cast<uint8_t*>(dst);
  while (len) {
    const uint64_t off = addr % kPageSize;
    const uint64_t chunk = std::min(len, kPageSize - off);
    const uint8_t* page = page_for_read(addr / kPageSize);
    if (page) std::memcpy(out, page + off, chunk);
    else std::memset(out, 0, chunk);
    out += chunk;
    addr += chunk;
    len -= chunk;
  }
  return true;
}

bool SparseStore::write(uint64_t addr, const void* src, uint64_t len) {
  if (!contains(addr, len)) return false;
  const auto* in = static_cast<const uint8_t*>(src);
  while (len) {
    const uint64_t off = addr % kPageSize;
    const uint64_t chunk = std::min(len, kPageSize - off);
    std::memcpy(page_for_write(addr / kPageSize) + off, in, chunk);
    in += chunk;
    addr += chunk;
    len -= chunk;
  }
  return true;
}

bool SparseStore::fill(uint64_t addr, uint8_t value, uint64_t len) {
  if (!contains(addr, len)) return false;
  while (len) {
    const uint64_t off = addr % kPageSize;
    const uint64_t chunk = std::min(len, kPageSize - off);
    const uint64_t page_no = addr / kPageSize;
    // Filling untouched memory with zeros must not allocate it.
    if (value != 0 || page_for_read(page_no)) std::memset(page_for_write(page_no) + off, value, chunk);
    addr += chunk;
    len -= chunk;
  }
  return true;
}

}  // namespace vfiosim
