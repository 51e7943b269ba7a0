// The IOVA bitmap (drivers/vfio/iova_bitmap.c, v6.1): a user bitmap of one bit per `page_size`
// bytes of IOVA from `iova`, that a driver's log_read_and_clear fills with iova_bitmap_set().
// The kernel pins the user pages a chunk at a time and calls the driver once per chunk; here
// the whole range is one chunk and set() writes through the task's memory (copy_to_user), so
// the only difference a driver sees is the number of calls.
#pragma once

#include <cstdint>
#include <functional>

namespace vfiosim::kernel {

class Task;

class iova_bitmap {
 public:
  iova_bitmap(Task& task, uint64_t iova, uint64_t length, uint64_t page_size, uint64_t user_bitmap)
      : task_(task), iova_(iova), length_(length), shift_(__builtin_ctzll(page_size)), data_(user_bitmap) {}
  /// iova_bitmap_set(): mark [iova, iova + length) dirty (clipped to the bitmap's range).
  /// -EFAULT when the user bitmap cannot be written.
  int set(uint64_t iova, uint64_t length);
  /// iova_bitmap_for_each(): calls fn(iova, length) over the range; the first error stops it.
  int for_each(const std::function<int(uint64_t iova, uint64_t length)>& fn) { return fn(iova_, length_); }
  uint64_t iova() const { return iova_; }
  uint64_t length() const { return length_; }

 private:
  Task& task_;
  uint64_t iova_, length_;
  unsigned shift_;
  uint64_t data_;
};

}  // namespace vfiosim::kernel
