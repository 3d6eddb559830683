// Pieces shared by the hold and soak runs: reproducible per-session data, a tally of failures
// with the first one's text, and a watchdog that turns a hang into a failure.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace bench {

// splitmix64: a small, fast generator; each session seeds its own, so what it sends can be
// checked without keeping a copy anywhere else.
class pattern {
 public:
  explicit pattern(std::uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // A number in [low, high].
  std::size_t between(std::size_t low, std::size_t high) {
    return low + static_cast<std::size_t>(next() % (high - low + 1));
  }
  void fill(std::vector<std::uint8_t>& data) {
    for (std::size_t i = 0; i < data.size(); i += 8) {
      const auto word = next();
      for (std::size_t k = 0; k < 8 && i + k < data.size(); ++k)
        data[i + k] = static_cast<std::uint8_t>(word >> (8 * k));
    }
  }

 private:
  std::uint64_t state_;
};

// Failures counted, with the first one described.
class failures {
 public:
  void add(const std::string& what) {
    count_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    if (first_.empty()) first_ = what;
  }
  void add(const std::string& step, const std::error_code& ec) { add(step + ": " + ec.message()); }
  std::size_t count() const { return count_.load(); }
  std::string first() const {
    std::lock_guard lock(mutex_);
    return first_;
  }

 private:
  std::atomic<std::size_t> count_{0};
  mutable std::mutex mutex_;
  std::string first_;
};

// `s` as a JSON string literal.
inline std::string json_string(const std::string& s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    const auto octet = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (octet < 0x20) {
      out += "\\u00";
      out += hex[octet >> 4];
      out += hex[octet & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Fails the run (exit status 3) when `progress` has not moved for `limit`: a session that
// hangs would otherwise hang the run. The phase name says where it stopped.
class watchdog {
 public:
  explicit watchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { watch(); }) {}
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void progress() { progress_.fetch_add(1, std::memory_order_relaxed); }
  void phase(const char* name) {
    std::lock_guard lock(mutex_);
    phase_ = name;
    progress();
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    auto seen = progress_.load();
    auto since = std::chrono::steady_clock::now();
    while (!done_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      const auto now = progress_.load();
      if (now != seen) {
        seen = now;
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since > limit_) {
        std::fprintf(stderr, "no progress for %lld s while %s: failed\n",
                     static_cast<long long>(limit_.count()), phase_.c_str());
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
  }

  std::chrono::seconds limit_;
  std::atomic<std::uint64_t> progress_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::string phase_ = "starting";
  std::thread thread_;
};

}  // namespace bench
