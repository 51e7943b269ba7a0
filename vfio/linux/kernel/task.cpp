#include "vfio/linux/kernel/task.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vfiosim::kernel {

namespace {
size_t& file_count() {
  static size_t n = 0;
  return n;
}
}  // namespace

file* alloc_file(const file_operations* fops, void* private_data, std::string path) {
  auto* f = new file;
  f->f_op = fops;
  f->private_data = private_data;
  f->path = std::move(path);
  ++file_count();
  return f;
}

void get_file(file* f) { kref_get(f->ref); }

void fput(file* f) {
  if (!f) return;
  kref_put(f->ref, [f] {
    auto release = [f] {
      if (f->f_op && f->f_op->release) f->f_op->release(*f);
      --file_count();
      delete f;
    };
    if (Task* t = current()) t->defer_release(release);
    else release();
  });
}

size_t live_files() { return file_count(); }

// ---- UserPageAllocator ----

std::vector<uint64_t> UserPageAllocator::alloc(uint64_t count, uint64_t contiguous) {
  std::vector<uint64_t> out;
  const uint64_t run_bytes = contiguous * 4096;
  while (out.size() < count) {
    if (contiguous == 1 && !free_.empty()) {
      out.push_back(*free_.begin());
      used_.insert(*free_.begin());
      free_.erase(free_.begin());
      continue;
    }
    uint64_t start = (base_ + next_ + run_bytes - 1) / run_bytes * run_bytes;
    if (start + run_bytes > base_ + size_) {
      free(out);
      return {};
    }
    for (uint64_t p = base_ + next_; p < start; p += 4096) free_.insert(p);  // alignment gap
    next_ = start + run_bytes - base_;
    for (uint64_t i = 0; i < contiguous && out.size() < count; ++i) {
      out.push_back(start + i * 4096);
      used_.insert(start + i * 4096);
    }
  }
  return out;
}

void UserPageAllocator::free(const std::vector<uint64_t>& pages) {
  for (uint64_t p : pages)
    if (used_.erase(p)) free_.insert(p);
}

// ---- Task ----

mm_struct::~mm_struct() {
  if (pages) pages->free(retired);
}

Task::Task(int pid, std::string comm, HostPort& cpu, UserPageAllocator& pages)
    : pid_(pid), comm_(std::move(comm)), cpu_(cpu), pages_(pages), mm_(std::make_shared<mm_struct>(&pages)) {}

Task::~Task() {
  for (auto& [start, v] : vmas_)
    if (!v.host) mm_->retired.insert(mm_->retired.end(), v.pages.begin(), v.pages.end());
  mm_->mm_users = 0;
}

void Task::exec() {
  // exec_mmap(): the old address space goes (file mappings drop their files), a new one starts.
  for (auto& [start, v] : vmas_) {
    if (v.vm_file) fput(v.vm_file);
    if (!v.host) mm_->retired.insert(mm_->retired.end(), v.pages.begin(), v.pages.end());
  }
  vmas_.clear();
  mmap_base_ = 0x7f0000000000ULL;
  arg_next_ = 0x7ffe00000000ULL;
  mm_->mm_users = 0;
  mm_ = std::make_shared<mm_struct>(&pages_);
  // do_close_on_exec()
  std::vector<int> cloexec;
  for (const auto& [fd, entry] : fds_)
    if (entry.second) cloexec.push_back(fd);
  for (int fd : cloexec) close_fd(fd);
}

int Task::install_fd(file* f, bool cloexec) {
  int fd = 0;
  for (const auto& [n, _] : fds_) {
    if (n != fd) break;
    ++fd;
  }
  if (static_cast<unsigned>(fd) >= rlimit_nofile) return -EMFILE;
  fds_[fd] = {f, cloexec};
  return fd;
}

file* Task::fget(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return nullptr;
  get_file(it->second.first);
  return it->second.first;
}

int Task::close_fd(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  file* f = it->second.first;
  fds_.erase(it);
  fput(f);
  return 0;
}

bool Task::fd_cloexec(int fd) const {
  auto it = fds_.find(fd);
  return it != fds_.end() && it->second.second;
}

void Task::close_all() {
  // exit_mm() before exit_files(): file mappings give their references back first.
  for (auto it = vmas_.begin(); it != vmas_.end();) {
    file* f = it->second.vm_file;
    it = f ? vmas_.erase(it) : std::next(it);
    if (f) fput(f);
  }
  while (!fds_.empty()) close_fd(fds_.begin()->first);
}

uint64_t Task::mmap_anonymous(uint64_t len, bool hugetlb) {
  const uint64_t unit = hugetlb ? 2ULL << 20 : 4096;
  len = (len + unit - 1) / unit * unit;
  if (!len) return 0;
  std::vector<uint64_t> phys = pages_.alloc(len / 4096, hugetlb ? 512 : 1);
  if (phys.empty()) return 0;
  // Anonymous memory is faulted in page by page and is not physically contiguous: hand the pages
  // out in descending order, so no two neighbours in the mapping are neighbours in memory.
  if (!hugetlb) std::reverse(phys.begin(), phys.end());
  mmap_base_ = (mmap_base_ - len) & ~(unit - 1);
  vm_area v;
  v.start = mmap_base_;
  v.end = mmap_base_ + len;
  v.hugetlb = hugetlb;
  v.pages = std::move(phys);
  vmas_[v.start] = std::move(v);
  return mmap_base_;
}

int Task::munmap(uint64_t addr, uint64_t len) {
  auto it = vmas_.find(addr);
  if (it == vmas_.end() || it->second.end - it->second.start != ((len + 4095) & ~4095ULL)) return -EINVAL;
  file* f = it->second.vm_file;
  if (!it->second.host && !it->second.vm_file) pages_.free(it->second.pages);
  vmas_.erase(it);
  if (f) fput(f);  // the mapping's reference to the file
  return 0;
}

// do_mmap() of a file: a new area, the driver's f_op->mmap, and a file reference for the area.
long Task::mmap_file(file* f, uint64_t len, uint64_t offset, bool shared) {
  len = (len + 4095) & ~4095ULL;
  if (!len || (offset & 0xFFF)) return -EINVAL;
  if (!f->f_op->mmap) return -ENODEV;
  vm_area v;
  v.start = (mmap_base_ - len) & ~4095ULL;
  v.end = v.start + len;
  v.vm_pgoff = offset >> 12;
  v.shared = shared;
  if (int ret = f->f_op->mmap(*f, v)) return ret;
  mmap_base_ = v.start;
  get_file(f);
  v.vm_file = f;
  vmas_[v.start] = std::move(v);
  return static_cast<long>(mmap_base_);
}

UserAccess Task::user_access(uint64_t uaddr, void* buf, unsigned len, bool write) {
  const vm_area* v = find_vma(uaddr);
  if (!v || uaddr + len > v->end) return UserAccess::Segv;
  if (v->vm_file) {
    if (!v->io || (v->io_ok && !v->io_ok())) return UserAccess::Bus;  // the fault handler said no
    const uint64_t pa = v->io_phys + (uaddr - v->start);
    uint64_t value = 0;
    if (write) {
      std::memcpy(&value, buf, len);
      cpu_.write(pa, len, value);
    } else {
      value = cpu_.read(pa, len);
      std::memcpy(buf, &value, len);
    }
    return UserAccess::Ok;
  }
  const int ret = write ? copy_to_user(uaddr, buf, len) : copy_from_user(buf, uaddr, len);
  return ret ? UserAccess::Segv : UserAccess::Ok;
}

uint64_t Task::alloc_arg(const void* data, uint64_t len) {
  vm_area v;
  v.start = arg_next_;
  v.end = arg_next_ + std::max<uint64_t>(len, 1);
  v.host = true;
  v.bytes.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
  v.bytes.resize(v.end - v.start);  // a zero-length area still covers (and must back) one byte
  arg_next_ = (v.end + 4095) & ~4095ULL;
  vmas_[v.start] = std::move(v);
  return vmas_.rbegin()->second.start;
}

const vm_area* Task::find_vma(uint64_t addr) const {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return nullptr;
  --it;
  return addr < it->second.end ? &it->second : nullptr;
}

vm_area* Task::vma_at(uint64_t addr) { return const_cast<vm_area*>(find_vma(addr)); }

uint64_t Task::user_phys(uint64_t uaddr) const {
  const vm_area* v = find_vma(uaddr);
  if (!v || v->host || v->vm_file) return 0;
  return v->pages[(uaddr - v->start) / 4096] + (uaddr & 0xFFF);
}

int Task::copy_from_user(void* dst, uint64_t uaddr, uint64_t len) {
  auto* out = static_cast<uint8_t*>(dst);
  for (uint64_t done = 0; done < len;) {
    vm_area* v = vma_at(uaddr + done);
    if (!v || v->vm_file) return -EFAULT;  // uaccess to a device mapping is not ported
    const uint64_t n = std::min(len - done, v->end - (uaddr + done));
    if (v->host) {
      std::memcpy(out + done, v->bytes.data() + (uaddr + done - v->start), n);
      done += n;
      continue;
    }
    for (uint64_t k = 0; k < n;) {  // page by page through the CPU
      const uint64_t a = uaddr + done + k;
      const uint64_t chunk = std::min(n - k, 4096 - (a & 0xFFF));
      cpu_.mem_read(user_phys(a), out + done + k, static_cast<unsigned>(chunk));
      k += chunk;
    }
    done += n;
  }
  return 0;
}

int Task::copy_to_user(uint64_t uaddr, const void* src, uint64_t len) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (uint64_t done = 0; done < len;) {
    vm_area* v = vma_at(uaddr + done);
    if (!v || v->vm_file) return -EFAULT;  // uaccess to a device mapping is not ported
    const uint64_t n = std::min(len - done, v->end - (uaddr + done));
    if (v->host) {
      std::memcpy(v->bytes.data() + (uaddr + done - v->start), in + done, n);
      done += n;
      continue;
    }
    for (uint64_t k = 0; k < n;) {
      const uint64_t a = uaddr + done + k;
      const uint64_t chunk = std::min(n - k, 4096 - (a & 0xFFF));
      cpu_.mem_write(user_phys(a), in + done + k, static_cast<unsigned>(chunk));
      k += chunk;
    }
    done += n;
  }
  return 0;
}

int Task::strndup_user(uint64_t uaddr, uint64_t max, std::string& out) {
  out.clear();
  for (uint64_t i = 0; i < max; ++i) {
    char c = 0;
    if (copy_from_user(&c, uaddr + i, 1)) return -EFAULT;
    if (!c) return 0;
    out.push_back(c);
  }
  return -EINVAL;  // no NUL within max bytes
}

int Task::pin_user_pages(uint64_t vaddr, uint64_t npages, std::vector<uint64_t>& out) {
  out.clear();
  for (uint64_t i = 0; i < npages; ++i) {
    const vm_area* v = find_vma(vaddr + i * 4096);
    if (!v || v->host || v->vm_file) return -EFAULT;  // VM_PFNMAP areas (follow_fault_pfn) are not ported
    out.push_back(v->pages[(vaddr + i * 4096 - v->start) / 4096]);
  }
  return 0;
}

// ---- current ----

namespace {
std::map<const void*, Task*>& currents() {
  static std::map<const void*, Task*> m;
  return m;
}
const void* this_thread() {
  sc_core::sc_process_handle h = sc_core::sc_get_current_process_handle();
  return h.valid() ? static_cast<const void*>(h.get_process_object()) : nullptr;
}
}  // namespace

Task* current() {
  auto it = currents().find(this_thread());
  return it == currents().end() ? nullptr : it->second;
}

CurrentScope::CurrentScope(Task& t) : thread_(this_thread()) {
  auto it = currents().find(thread_);
  previous_ = it == currents().end() ? nullptr : it->second;
  currents()[thread_] = &t;
}

CurrentScope::~CurrentScope() {
  if (Task* t = current()) t->task_work_run();  // returning to userspace
  if (previous_) currents()[thread_] = previous_;
  else currents().erase(thread_);
}

void Task::task_work_run() {
  while (!task_work_.empty()) {
    auto work = std::move(task_work_);
    task_work_.clear();
    for (auto& fn : work) fn();
  }
}

// ---- Vfs ----

std::vector<std::string> Vfs::list(const std::string& dir) const {
  std::vector<std::string> out;
  const std::string prefix = !dir.empty() && dir.back() == '/' ? dir : dir + "/";
  for (const auto& [p, _] : nodes_)
    if (p.compare(0, prefix.size(), prefix) == 0 && p.find('/', prefix.size()) == std::string::npos)
      out.push_back(p.substr(prefix.size()));
  return out;
}

int Vfs::open(Task& t, const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return -ENOENT;
  file* f = nullptr;
  const long ret = it->second(t, f);
  if (ret < 0) return static_cast<int>(ret);
  const int fd = t.install_fd(f, false);
  if (fd < 0) fput(f);
  return fd;
}

}  // namespace vfiosim::kernel
