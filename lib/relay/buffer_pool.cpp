#include "socks5/buffer_pool.hpp"

namespace socks5 {

buffer_pool::buffer_pool(std::size_t buffer_size, std::size_t keep)
    : buffer_size_(buffer_size == 0 ? 1 : buffer_size), keep_(keep) {}

buffer_pool::lease buffer_pool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto data = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(data), buffer_size_);
    }
  }
  // for_overwrite: a relay buffer is written by a read before it is ever looked at.
  return lease(this, std::make_unique_for_overwrite<char[]>(buffer_size_), buffer_size_);
}

std::size_t buffer_pool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void buffer_pool::give_back(std::unique_ptr<char[]> data) noexcept {
  std::lock_guard lock(mutex_);
  if (idle_.size() < keep_) {
    try {
      idle_.push_back(std::move(data));
    } catch (...) {
      // Out of memory for the list itself: the buffer is simply freed.
    }
  }
}

buffer_pool::lease& buffer_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = other.pool_;
    data_ = std::move(other.data_);
    size_ = other.size_;
  }
  return *this;
}

buffer_pool::lease::~lease() {
  reset();
}

void buffer_pool::lease::reset() noexcept {
  if (data_ && pool_) pool_->give_back(std::move(data_));
  data_.reset();
  size_ = 0;
}

}  // namespace socks5
