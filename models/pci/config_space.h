// Configuration space of one PCI function, byte-accurate: 256 bytes (conventional) or 4096
// (PCI Express). Every byte has a write mask (bits software may change) and a write-1-to-clear
// mask; a config write is applied byte by byte as new = (old & ~wmask) | (val & wmask), then the
// bits written as 1 under w1cmask are cleared (spec A1.0, the scheme QEMU uses). BAR sizing falls
// out of the masks: a BAR's address bits below its size are not writable, so writing all ones
// reads back the size mask and the type bits (A1.3).
//
// The device model reacts to writes through an observer (FLR, MSI-X enable); the kernel side and
// tests see only read() and write().
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace vfiosim::pci {

constexpr uint32_t kConfigSizeLegacy = 256;
constexpr uint32_t kConfigSizeExpress = 4096;

class ConfigSpace {
 public:
  explicit ConfigSpace(uint32_t size = kConfigSizeExpress);

  uint32_t size() const { return static_cast<uint32_t>(data_.size()); }

  /// A config read of 1, 2 or 4 bytes, naturally aligned. Out of range or misaligned reads
  /// return all ones (what a host bridge returns for a failed config read).
  uint32_t read(uint32_t offset, unsigned len) const;
  /// A config write as software issues it; misaligned or out-of-range writes are dropped.
  void write(uint32_t offset, unsigned len, uint32_t value);

  /// Device-side access: set a register's value and masks, bypassing the masks (construction,
  /// hardware status updates). wmask/w1cmask cover the same bytes as `value`.
  void init(uint32_t offset, unsigned len, uint32_t value, uint32_t wmask = 0, uint32_t w1cmask = 0);
  void set(uint32_t offset, unsigned len, uint32_t value);  // value only, masks unchanged
  /// The same as read() without checks (little-endian, like config space itself).
  uint32_t get(uint32_t offset, unsigned len) const {
    const uint8_t* p = data_.data() + offset;
    switch (len) {
      case 1: return p[0];
      case 2: return static_cast<uint32_t>(p[0] | (p[1] << 8));
      default: return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                      (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    }
  }
  void set_wmask(uint32_t offset, unsigned len, uint32_t wmask);

  /// Called after every software write with the offset, length, the value as written (command
  /// bits such as Initiate FLR are not stored), and the old and new register value.
  using Observer =
      std::function<void(uint32_t offset, unsigned len, uint32_t written, uint32_t old_value, uint32_t new_value)>;
  void observe(Observer fn) { observer_ = std::move(fn); }

  /// Snapshot of values (not masks) for reset; restore() brings the values back.
  std::vector<uint8_t> snapshot() const { return data_; }
  void restore(const std::vector<uint8_t>& image) { data_ = image; }

  static bool aligned(uint32_t offset, unsigned len) {
    return (len == 1 || len == 2 || len == 4) && offset % len == 0;
  }

 private:
  std::vector<uint8_t> data_;
  std::vector<uint8_t> wmask_;
  std::vector<uint8_t> w1cmask_;
  Observer observer_;
};

}  // namespace vfiosim::pci
