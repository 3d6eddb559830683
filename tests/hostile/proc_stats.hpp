// The hostile tests' view of the proxy process (from tests/support/proc_status.hpp), and waits
// for what settles in its own time.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "proc_status.hpp"

namespace hostile {

using fd_counts = proc_status::descriptors;
using proc_status::count_fds;
using proc_status::cpu_seconds;
using proc_status::rss_kib;

// Polls `condition` until it holds or `limit` passes: closes and frees settle in their own time.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The kernel's largest socket buffers (tcp_rmem, tcp_wmem maxima), in octets: what a stalled TCP
// path can hold outside any process.
inline std::uint64_t tcp_buffer_max(const char* which) {
  std::ifstream in(std::string("/proc/sys/net/ipv4/") + which);
  std::uint64_t low = 0, def = 0, max = 0;
  in >> low >> def >> max;
  return max;
}

}  // namespace hostile
