#include "socks5/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <climits>

namespace socks5 {

namespace {

// What any system gives a pipe, at least: assumed where its size cannot be asked.
constexpr int default_capacity = 4096;

void close_ends(pipe_pool::ends e) noexcept {
  if (e.read >= 0) ::close(e.read);
  if (e.write >= 0) ::close(e.write);
}

}  // namespace

pipe_pool::pipe_pool(std::size_t keep) : keep_(keep) {}

pipe_pool::~pipe_pool() {
  for (auto e : idle_)
    close_ends(e);
}

pipe_pool::lease pipe_pool::acquire(std::error_code& ec) {
  ec.clear();
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      const ends e = idle_.back();
      idle_.pop_back();
      return lease(this, e);
    }
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    ec.assign(errno, std::system_category());
    return {};
  }
#if defined(F_GETPIPE_SZ)
  const int capacity = ::fcntl(fds[1], F_GETPIPE_SZ);
#else
  const int capacity = default_capacity;
#endif
  const auto known = capacity > 0 ? capacity : default_capacity;
  return lease(this, ends{fds[0], fds[1], static_cast<std::size_t>(known)});
}

std::size_t pipe_pool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void pipe_pool::give_back(ends e) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (idle_.size() < keep_) {
      try {
        idle_.push_back(e);
        return;
      } catch (...) {
        // No room to remember it: closed below.
      }
    }
  }
  close_ends(e);
}

pipe_pool::lease& pipe_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    close();
    pool_ = std::exchange(other.pool_, nullptr);
    ends_ = std::exchange(other.ends_, {});
  }
  return *this;
}

pipe_pool::lease::~lease() {
  close();
}

bool pipe_pool::lease::grow(std::size_t octets) noexcept {
  if (ends_.write < 0 || octets > static_cast<std::size_t>(INT_MAX)) return false;
  if (ends_.capacity >= octets) return true;
#if defined(F_SETPIPE_SZ)
  const int capacity = ::fcntl(ends_.write, F_SETPIPE_SZ, static_cast<int>(octets));
  if (capacity < 0) return false;
#else
  return false;
#endif
  ends_.capacity = static_cast<std::size_t>(capacity);
  return true;
}

void pipe_pool::lease::release_empty() noexcept {
  if (ends_.read < 0) return;
  if (pool_)
    pool_->give_back(std::exchange(ends_, {}));
  else
    close();
}

void pipe_pool::lease::close() noexcept {
  close_ends(std::exchange(ends_, {}));
}

}  // namespace socks5
