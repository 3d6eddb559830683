// Relay buffers lent out while data is in flight and taken back when a direction goes quiet, so
// that an idle session holds none and a busy one does not allocate per message.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <asio/buffer.hpp>

namespace socks5 {

class buffer_pool {
 public:
  // Buffers of `buffer_size` octets; at most `keep` idle ones are kept for reuse.
  explicit buffer_pool(std::size_t buffer_size = 64 * 1024, std::size_t keep = 256);
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  // A buffer on loan: goes back to its pool (or is freed) when the lease ends.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    ~lease();

    // A buffer of its own, freed when the lease ends.
    static lease standalone(std::size_t size) {
      return lease(nullptr, std::make_unique_for_overwrite<char[]>(size), size);
    }

    explicit operator bool() const noexcept { return data_ != nullptr; }
    asio::mutable_buffer buffer() const noexcept { return {data_.get(), size_}; }
    char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    void reset() noexcept;

   private:
    friend class buffer_pool;
    lease(buffer_pool* pool, std::unique_ptr<char[]> data, std::size_t size) noexcept
        : pool_(pool), data_(std::move(data)), size_(size) {}
    buffer_pool* pool_ = nullptr;
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
  };

  lease acquire();
  std::size_t buffer_size() const noexcept { return buffer_size_; }
  std::size_t idle() const;  // buffers waiting in the pool

 private:
  void give_back(std::unique_ptr<char[]> data) noexcept;

  const std::size_t buffer_size_;
  const std::size_t keep_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<char[]>> idle_;
};

}  // namespace socks5
