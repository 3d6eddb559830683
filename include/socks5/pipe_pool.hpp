// Pipes for splice(2) relaying, lent out while data is in flight: an idle session holds none,
// and a busy one does not create a pipe per burst.
#pragma once

#include <cstddef>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

namespace socks5 {

class pipe_pool {
 public:
  // At most `keep` idle pipes are kept open for reuse (each costs two descriptors).
  explicit pipe_pool(std::size_t keep = 32);
  ~pipe_pool();
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;

  struct ends {
    int read = -1;
    int write = -1;
    std::size_t capacity = 0;  // octets the pipe holds (F_GETPIPE_SZ)
  };

  // A pipe on loan. It goes back to the pool only through release_empty(); otherwise (an
  // error left data in it) it is closed with the lease.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), ends_(std::exchange(other.ends_, {})) {}
    lease& operator=(lease&& other) noexcept;
    ~lease();

    explicit operator bool() const noexcept { return ends_.read >= 0; }
    int read_end() const noexcept { return ends_.read; }
    int write_end() const noexcept { return ends_.write; }
    std::size_t capacity() const noexcept { return ends_.capacity; }
    // Enlarges the pipe to at least `octets` (F_SETPIPE_SZ), so that one splice(2) moves more
    // of a bulk transfer. False when the system refuses (e.g. the user's pipe-page limit):
    // the pipe keeps working at its size. It returns to the pool enlarged.
    bool grow(std::size_t octets) noexcept;
    // The pipe holds nothing: it may serve another burst.
    void release_empty() noexcept;

   private:
    friend class pipe_pool;
    lease(pipe_pool* pool, ends e) noexcept : pool_(pool), ends_(e) {}
    void close() noexcept;
    pipe_pool* pool_ = nullptr;
    ends ends_;
  };

  lease acquire(std::error_code& ec);
  std::size_t idle() const;

 private:
  void give_back(ends e) noexcept;

  const std::size_t keep_;
  mutable std::mutex mutex_;
  std::vector<ends> idle_;
};

}  // namespace socks5
