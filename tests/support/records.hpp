// Collects socks5::server session records from any thread, for tests to wait on.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "socks5/server.hpp"

namespace test {

class record_log {
 public:
  std::function<void(const socks5::session_record&)> hook() {
    return [this](const socks5::session_record& r) {
      std::lock_guard lock(mutex_);
      records_.push_back(r);
    };
  }

  // The records once there are at least n, or whatever came within `limit`.
  std::vector<socks5::session_record> wait_for(
      std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (records_.size() >= n || std::chrono::steady_clock::now() >= deadline) return records_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // The newest record, waiting for a first one if there is none yet.
  std::optional<socks5::session_record> last(
      std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    auto all = wait_for(1, limit);
    if (all.empty()) return std::nullopt;
    return all.back();
  }

 private:
  std::mutex mutex_;
  std::vector<socks5::session_record> records_;
};

}  // namespace test
