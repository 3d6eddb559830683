// What a process holds, read from /proc: its descriptors by kind and its resident memory.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace hostile {

struct fd_counts {
  int sockets = 0;
  int pipes = 0;
  int other = 0;  // epoll, eventfd, timerfd, files
  int total() const { return sockets + pipes + other; }
  std::string others;  // what the other descriptors are, for messages
};

inline fd_counts count_fds(pid_t pid) {
  fd_counts c;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (link_ec) continue;  // closed while we looked
    if (target.rfind("socket:", 0) == 0)
      ++c.sockets;
    else if (target.rfind("pipe:", 0) == 0)
      ++c.pipes;
    else {
      ++c.other;
      c.others += entry.path().filename().string() + "->" + target + " ";
    }
  }
  return c;
}

// VmRSS in KiB, or -1 when the process is gone.
inline long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = -1;
      status >> kib;
      return kib;
    }
    std::getline(status, key);
  }
  return -1;
}

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
