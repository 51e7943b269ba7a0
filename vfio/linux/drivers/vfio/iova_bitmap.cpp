#include "vfio/linux/drivers/vfio/iova_bitmap.h"

#include <cerrno>

#include "vfio/linux/kernel/task.h"

namespace vfiosim::kernel {

int iova_bitmap::set(uint64_t iova, uint64_t length) {
  if (!length) return 0;
  const uint64_t end = iova + length - 1, last = iova_ + length_ - 1;
  if (end < iova_ || iova > last) return 0;
  const uint64_t first_bit = ((iova < iova_ ? iova_ : iova) - iova_) >> shift_;
  const uint64_t last_bit = ((end > last ? last : end) - iova_) >> shift_;
  for (uint64_t word = first_bit / 64; word <= last_bit / 64; ++word) {
    uint64_t v = 0;
    if (task_.copy_from_user(&v, data_ + word * 8, 8)) return -EFAULT;
    for (uint64_t b = 0; b < 64; ++b) {
      const uint64_t bit = word * 64 + b;
      if (bit >= first_bit && bit <= last_bit) v |= 1ULL << b;
    }
    if (task_.copy_to_user(data_ + word * 8, &v, 8)) return -EFAULT;
  }
  return 0;
}

}  // namespace vfiosim::kernel
