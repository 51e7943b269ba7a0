#include "models/pci/vpd.h"

#include <linux/pci_regs.h>

namespace vfiosim::pci {

namespace {
void large_tag(std::vector<uint8_t>& out, uint8_t tag, const std::vector<uint8_t>& body) {
  out.push_back(tag);
  out.push_back(static_cast<uint8_t>(body.size()));
  out.push_back(static_cast<uint8_t>(body.size() >> 8));
  out.insert(out.end(), body.begin(), body.end());
}
}  // namespace

Vpd::Vpd(ConfigSpace& cfg, uint16_t cap, const std::string& identifier, uint64_t access_ps)
    : cfg_(cfg), cap_(cap), access_ps_(access_ps) {
  large_tag(image_, 0x82, std::vector<uint8_t>(identifier.begin(), identifier.end()));  // Identifier String
  // VPD-R: part number "PN" and the checksum keyword "RV" (one reserved byte).
  std::vector<uint8_t> ro = {'P', 'N', 6, 'V', 'S', '-', 'D', 'M', 'A', 'R', 'V', 1, 0};
  large_tag(image_, 0x90, ro);
  uint8_t sum = 0;  // RV makes the bytes from the start through it sum to 0
  for (uint8_t b : image_) sum = static_cast<uint8_t>(sum + b);
  image_.back() = static_cast<uint8_t>(-sum);
  // VPD-W: a 32-byte "YA" (asset tag) field.
  std::vector<uint8_t> rw = {'Y', 'A', 32};
  rw.resize(3 + 32, ' ');
  rw_start_ = static_cast<uint32_t>(image_.size() + 3 + 3);
  large_tag(image_, 0x91, rw);
  rw_end_ = static_cast<uint32_t>(image_.size());
  image_.push_back(0x78);  // End Tag
  image_.resize((image_.size() + 3) & ~size_t{3}, 0);
}

void Vpd::on_config_write(uint32_t offset, unsigned len) {
  const uint32_t reg = cap_ + PCI_VPD_ADDR;
  if (offset > reg + 1 || offset + len <= reg) return;
  if (busy_) return;  // a transfer is in flight: the write is ignored
  const uint32_t a = cfg_.get(reg, 2);
  write_ = a & PCI_VPD_ADDR_F;
  addr_ = a & PCI_VPD_ADDR_MASK & ~3u;
  busy_ = true;
  done_.notify(sc_core::sc_time(static_cast<double>(access_ps_), sc_core::SC_PS));
}

void Vpd::complete() {
  if (!busy_) return;
  busy_ = false;
  const uint32_t reg = cap_ + PCI_VPD_ADDR;
  if (write_) {
    const uint32_t data = cfg_.get(cap_ + PCI_VPD_DATA, 4);
    for (unsigned i = 0; i < 4; ++i)
      if (addr_ + i >= rw_start_ && addr_ + i < rw_end_) image_[addr_ + i] = static_cast<uint8_t>(data >> (8 * i));
    cfg_.set(reg, 2, cfg_.get(reg, 2) & ~uint32_t{PCI_VPD_ADDR_F});
  } else {
    uint32_t data = 0;
    for (unsigned i = 0; i < 4; ++i)
      if (addr_ + i < image_.size()) data |= static_cast<uint32_t>(image_[addr_ + i]) << (8 * i);
    cfg_.set(cap_ + PCI_VPD_DATA, 4, data);
    cfg_.set(reg, 2, cfg_.get(reg, 2) | PCI_VPD_ADDR_F);
  }
}

}  // namespace vfiosim::pci
