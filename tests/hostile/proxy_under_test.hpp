// A socks5-proxy process under attack, with what every attack is judged by: a long-lived session
// opened before it, the descriptors and memory the process held before it, and afterwards the
// check that the process is alive, serves, and is back to that baseline.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "proc_stats.hpp"
#include "process.hpp"
#include "raw_client.hpp"
#include "targets.hpp"

namespace hostile {

// Descriptors of relay pipes the server may keep idle for reuse (socks5::pipe_pool keeps up to
// 32 pipes, two descriptors each): pipes within this margin are a cache, beyond it a leak.
inline constexpr int pipe_cache_fds = 64;

// Resident memory allowed above the baseline once an attack is over. Freed memory is not all
// given back: glibc keeps freed chunks of its arenas for reuse and returns only what ends up at
// the top of a heap, so a burst of sessions leaves some pages resident. 4 MiB or 10% of the
// baseline, whichever is larger, is far below what a leak of a buffer or a coroutine frame per
// attacking connection (hundreds of them) would leave.
inline long rss_tolerance_kib(long baseline_kib) {
  return std::max(4096L, baseline_kib / 10);
}

// Whether the proxy runs under the sanitizers: tests/sanitize builds the tests and the proxy
// alike, with AddressSanitizer and UndefinedBehaviorSanitizer together.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

// AddressSanitizer keeps freed memory in a quarantine rather than reusing it, so there resident
// memory does not come back down after a burst of sessions and cannot be compared with the
// baseline. A leak is found there instead by LeakSanitizer when the proxy exits (tests/sanitize
// counts its reports).
inline constexpr bool memory_is_reused = !sanitized;

// So that a thousand connections fit in this process and in the proxy it starts.
inline void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

struct proxy_setup {
  std::vector<std::string> args;  // besides --listen
  bool users = false;             // offer none and userpass, with the users below
};

// Users in the proxy's users file when proxy_setup::users is set.
inline const std::string user = "alice";
inline const std::string password = "secret";
inline const std::string long_user = std::string(255, 'U');      // the longest ULEN
inline const std::string long_password = std::string(255, 'P');  // the longest PLEN

class proxy_under_test {
 public:
  explicit proxy_under_test(const proxy_setup& setup) {
    raise_fd_limit();
    const auto bin = test::program("SOCKS5_PROXY_BIN");
    REQUIRE(bin);
    std::vector<std::string> argv{*bin, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), setup.args.begin(), setup.args.end());
    if (setup.users) {
      const auto file = dir_.write(
          "users", user + ":" + password + "\n" + long_user + ":" + long_password + "\n");
      argv.insert(argv.end(), {"--users", file, "--method", "none", "--method", "userpass"});
    }
    process_.emplace(argv, dir_ / "proxy.log");
    // Only now: the child would inherit the targets' listening sockets.
    targets_.emplace();
    INFO(output());
    REQUIRE(eventually([&] { return parse_port(); }, 10s));

    long_session_.emplace(open_session());
    REQUIRE(echo(*long_session_, 1000, next_seed_++));
    // One session before the baseline: buffers, pipes and stdio that every later session reuses
    // are then in it.
    CHECK(normal_session());
    // Its log line written (the first one reads the time zone file), its sockets closed.
    REQUIRE(eventually([&] { return logged_sessions() == 1; }, 10s));
    REQUIRE(eventually([&] { return count_fds(pid()).sockets == baseline_sockets(); }, 10s));
    baseline_fds_ = count_fds(pid());
    baseline_rss_ = rss_kib(pid());
    REQUIRE(baseline_rss_ > 0);
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  bool alive() { return process_->running(); }
  std::string output() const { return process_->output(); }
  hostile::targets& targets() { return *targets_; }
  long baseline_rss() const { return baseline_rss_; }
  const fd_counts& baseline_fds() const { return baseline_fds_; }

  // The listener and both ends of the long-lived session.
  int baseline_sockets() const { return 1 + 2; }

  // Greeting offering no authentication and a CONNECT to the echo target, both answered.
  raw_client open_session() {
    raw_client c(port_);
    REQUIRE(c.send(test::b({0x05, 0x01, 0x00})));
    REQUIRE(c.receive(2) == test::b({0x05, 0x00}));
    REQUIRE(c.send(connect_request_v4(targets_->echo_port())));
    const auto reply = c.receive(10);
    REQUIRE(reply.size() == 10);
    REQUIRE(reply[1] == 0x00);
    return c;
  }

  // A fresh CONNECT whose 64 KiB come back intact.
  bool normal_session() {
    auto c = open_session();
    return echo(c, 64 * 1024, next_seed_++);
  }

  static bool echo(raw_client& c, std::size_t n, std::uint32_t seed) {
    const auto data = payload(n, seed);
    if (!c.send(data)) return false;
    return c.receive(n) == data;
  }

  // After an attack: alive, serving, the long session unharmed, descriptors and memory back
  // to the baseline, or to `rss_reference_kib` when that is higher (a level reached before,
  // which the attack must not have raised).
  void check_recovered(long rss_reference_kib = 0) {
    INFO(output());
    REQUIRE(alive());
    CHECK(echo(*long_session_, 1000, next_seed_++));
    CHECK(normal_session());
    fd_counts now;
    const bool fds_back = eventually(
        [&] {
          now = count_fds(pid());
          return now.sockets == baseline_fds_.sockets && now.other == baseline_fds_.other &&
                 now.pipes <= baseline_fds_.pipes + pipe_cache_fds;
        },
        15s);
    INFO("sockets " << now.sockets << " (baseline " << baseline_fds_.sockets << "), pipes "
                    << now.pipes << " (" << baseline_fds_.pipes << "), other " << now.other << " ("
                    << baseline_fds_.other << "): " << now.others
                    << "(baseline: " << baseline_fds_.others << ")");
    CHECK(fds_back);
    long rss = 0;
    const long reference = std::max(baseline_rss_, rss_reference_kib);
    const long allowed = reference + rss_tolerance_kib(reference);
    if (memory_is_reused) {
      const bool rss_back = eventually([&] { return (rss = rss_kib(pid())) <= allowed; }, 15s);
      INFO("VmRSS " << rss << " KiB, reference " << reference << " KiB, allowed " << allowed);
      CHECK(rss_back);
    } else {
      MESSAGE("VmRSS " << rss_kib(pid()) << " KiB, reference " << reference
                       << " KiB: not compared (AddressSanitizer's quarantine)");
    }
    REQUIRE(alive());
  }

  // Sessions logged so far (one line each when they end).
  int logged_sessions() const {
    const auto log = output();
    int n = 0;
    for (std::size_t at = 0; (at = log.find(" outcome=", at)) != std::string::npos; ++at)
      ++n;
    return n;
  }

 private:
  bool parse_port() {
    const std::string marker = "listening on 127.0.0.1:";
    const auto log = output();
    const auto at = log.find(marker);
    if (at == std::string::npos) return false;
    const auto end = log.find('\n', at);
    if (end == std::string::npos) return false;
    port_ = static_cast<std::uint16_t>(std::stoi(log.substr(at + marker.size())));
    return port_ != 0;
  }

  test::temp_dir dir_;
  std::optional<test::process> process_;
  std::optional<hostile::targets> targets_;
  std::uint16_t port_ = 0;
  std::optional<raw_client> long_session_;
  std::uint32_t next_seed_ = 1;
  fd_counts baseline_fds_;
  long baseline_rss_ = 0;
};

}  // namespace hostile
