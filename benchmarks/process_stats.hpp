// What a load run watches in the server under test: its resident memory and its open
// descriptors, read from /proc. Several processes (proxies sharing a port) are summed.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "proc_status.hpp"

namespace bench {

struct process_sample {
  long rss_kib = 0;  // summed over the processes
  long fds = 0;
  long sockets = 0;
  long pipes = 0;
  bool all_alive = true;
};

inline process_sample sample(const std::vector<pid_t>& pids) {
  process_sample s;
  for (auto pid : pids) {
    const long rss = proc_status::rss_kib(pid);
    const auto fds = proc_status::count_fds(pid);
    if (rss < 0 || !fds.alive) {
      s.all_alive = false;
      continue;
    }
    s.rss_kib += rss;
    s.fds += fds.total();
    s.sockets += fds.sockets;
    s.pipes += fds.pipes;
  }
  return s;
}

// The server's splice(2) relay keeps up to 32 idle pipes for reuse (socks5::pipe_pool).
constexpr long pooled_pipe_descriptors = 2 * 32;

// What is wrong with the descriptors `after` a run that started at `before`, or "": every
// socket closed, pipes within what the pools may keep, nothing else left open.
inline std::string descriptor_leak(const process_sample& before, const process_sample& after,
                                   std::size_t processes) {
  const long other_before = before.fds - before.sockets - before.pipes;
  const long other_after = after.fds - after.sockets - after.pipes;
  std::string problem;
  auto note = [&](long now, long then, const char* what) {
    problem += (problem.empty() ? "" : ", ") + std::to_string(now) + " " + what +
               " after the run, " + std::to_string(then) + " before";
  };
  if (after.sockets > before.sockets) note(after.sockets, before.sockets, "sockets");
  if (after.pipes > before.pipes + pooled_pipe_descriptors * static_cast<long>(processes))
    note(after.pipes, before.pipes, "pipe descriptors");
  if (other_after > other_before) note(other_after, other_before, "other descriptors");
  return problem;
}

// Waits (up to `limit`) until descriptor_leak() finds nothing against `baseline`: the server
// closes a session's descriptors a moment after the client has gone.
// `pause` waits about 100 ms; a caller whose own targets must go on serving meanwhile runs them
// in it.
inline void sleep_a_little() {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

inline process_sample settle(const std::vector<pid_t>& pids, const process_sample& baseline,
                             std::chrono::seconds limit,
                             const std::function<void()>& pause = sleep_a_little) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto s = sample(pids);
  while (!descriptor_leak(baseline, s, pids.size()).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    pause();
    s = sample(pids);
  }
  return s;
}

// Waits (up to `limit`) until the processes' socket count has stayed the same for half a
// second: the sessions of a warm-up have been closed on their side too.
inline process_sample quiet(const std::vector<pid_t>& pids, std::chrono::seconds limit,
                            const std::function<void()>& pause = sleep_a_little) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto s = sample(pids);
  for (int unchanged = 0; unchanged < 5 && std::chrono::steady_clock::now() < deadline;) {
    pause();
    const auto next = sample(pids);
    unchanged = next.sockets == s.sockets ? unchanged + 1 : 0;
    s = next;
  }
  return s;
}

// Soft descriptor limit up to the hard one: each session holds a socket.
inline void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace bench
