// Fixture of the simulated-process tests: host memory with a CPU port and a user page allocator,
// and file_operations that log their releases.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "models/cpu/host_port.h"
#include "models/memory/memory.h"
#include "sim/stats/group.h"
#include "tests/support/sc_test.h"
#include "vfio/linux/kernel/task.h"

namespace vfiosim::task_test {

using namespace vfiosim::kernel;

inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kHuge = 2ULL << 20;
// Deliberately not 2 MiB-aligned, so hugetlb alignment is the allocator's doing.
inline constexpr uint64_t kUserBase = 0x10001000ULL;
inline constexpr uint64_t kUserSize = 64ULL << 20;

// Host memory, the CPU port into it, and a page allocator over part of it.
struct Machine {
  stats::Group root{"system"};
  std::unique_ptr<Memory> mem;
  std::unique_ptr<HostPort> cpu;
  UserPageAllocator pages;
  explicit Machine(uint64_t user_size = kUserSize) : pages(kUserBase, user_size) {
    MemoryParams p;
    p.size = 1ULL << 30;
    mem = std::make_unique<Memory>("memory", p, root);
    cpu = std::make_unique<HostPort>("cpu", root);
    cpu->socket.bind(mem->port);
  }
};

// file_operations whose release logs the file's path.
struct LoggingFops {
  std::vector<std::string> released;
  file_operations ops;
  LoggingFops() {
    ops.name = "test";
    ops.release = [this](file& f) {
      released.push_back(f.path);
      return 0;
    };
  }
  file* make(const std::string& path) { return alloc_file(&ops, nullptr, path); }
};

inline bool is_aligned(uint64_t v, uint64_t a) { return v % a == 0; }

}  // namespace vfiosim::task_test
