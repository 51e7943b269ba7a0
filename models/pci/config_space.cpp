#include "models/pci/config_space.h"

namespace vfiosim::pci {

ConfigSpace::ConfigSpace(uint32_t size) : data_(size, 0), wmask_(size, 0), w1cmask_(size, 0) {}

void ConfigSpace::set(uint32_t offset, unsigned len, uint32_t value) {
  for (unsigned i = 0; i < len; ++i) data_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

void ConfigSpace::set_wmask(uint32_t offset, unsigned len, uint32_t wmask) {
  for (unsigned i = 0; i < len; ++i) wmask_[offset + i] = static_cast<uint8_t>(wmask >> (8 * i));
}

void ConfigSpace::init(uint32_t offset, unsigned len, uint32_t value, uint32_t wmask, uint32_t w1cmask) {
  for (unsigned i = 0; i < len; ++i) {
    data_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
    wmask_[offset + i] = static_cast<uint8_t>(wmask >> (8 * i));
    w1cmask_[offset + i] = static_cast<uint8_t>(w1cmask >> (8 * i));
  }
}

uint32_t ConfigSpace::read(uint32_t offset, unsigned len) const {
  if (!aligned(offset, len) || offset + len > data_.size()) return len == 4 ? 0xFFFFFFFFu : (1u << (8 * len)) - 1;
  return get(offset, len);
}

void ConfigSpace::write(uint32_t offset, unsigned len, uint32_t value) {
  if (!aligned(offset, len) || offset + len > data_.size()) return;
  const uint32_t old = get(offset, len);
  for (unsigned i = 0; i < len; ++i) {
    const uint8_t v = static_cast<uint8_t>(value >> (8 * i));
    uint8_t& b = data_[offset + i];
    b = static_cast<uint8_t>((b & ~wmask_[offset + i]) | (v & wmask_[offset + i]));
    b = static_cast<uint8_t>(b & ~(v & w1cmask_[offset + i]));
  }
  if (observer_) observer_(offset, len, value, old, get(offset, len));
}

}  // namespace vfiosim::pci
