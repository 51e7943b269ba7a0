#include "vfio/linux/lib/errname.h"

#include <cstdlib>

namespace vfiosim::kernel {

namespace {
const struct {
  int value;
  const char* name;
} kNames[] = {{EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {EIO, "EIO"},       {ENXIO, "ENXIO"},     {E2BIG, "E2BIG"},
              {EBADF, "EBADF"},   {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},   {EFAULT, "EFAULT"},
              {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
              {EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"}, {ESPIPE, "ESPIPE"}, {ERANGE, "ERANGE"},   {ENOTTY, "ENOTTY"},
              {EOVERFLOW, "EOVERFLOW"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {ETIMEDOUT, "ETIMEDOUT"}, {EINTR, "EINTR"},
              {ESRCH, "ESRCH"},   {EMFILE, "EMFILE"}, {ENFILE, "ENFILE"}, {ENOSYS, "ENOSYS"}, {EPIPE, "EPIPE"}};
}  // namespace

std::string errno_name(int err) {
  const int e = std::abs(err);
  for (const auto& n : kNames)
    if (n.value == e) return n.name;
  return "E" + std::to_string(e);
}

int errno_from_name(const std::string& name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.value;
  return 0;
}

}  // namespace vfiosim::kernel
