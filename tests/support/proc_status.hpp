// What another process holds, read from /proc: its resident memory, the processor time it has
// used and its descriptors by kind.
// Shared by the hostile tests and the load programs, which watch the proxy they drive.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace proc_status {

// VmRSS of `pid` in KiB, or -1 when the process is gone.
inline long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = -1;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return -1;
}

// User plus system processor time `pid` has used, in seconds, or -1 when the process is gone.
inline double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  // The command name, in parentheses, may hold spaces: the fields are counted after it.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(line.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i)  // state (field 3) up to cmajflt (13)
    fields >> skip;
  long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct descriptors {
  bool alive = false;  // the descriptor table could be read
  long sockets = 0;
  long pipes = 0;
  long other = 0;      // epoll, eventfd, timerfd, files
  std::string others;  // what the other descriptors are, for messages
  long total() const { return sockets + pipes + other; }
};

inline descriptors count_fds(pid_t pid) {
  descriptors d;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) return d;
  d.alive = true;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return descriptors{};
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(it->path(), link_ec).string();
    if (link_ec) continue;  // closed while we looked
    if (target.rfind("socket:", 0) == 0) {
      ++d.sockets;
    } else if (target.rfind("pipe:", 0) == 0) {
      ++d.pipes;
    } else {
      ++d.other;
      d.others += it->path().filename().string() + "->" + target + " ";
    }
  }
  return d;
}

}  // namespace proc_status
