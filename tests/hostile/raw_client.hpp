// A client that speaks raw octets over a blocking POSIX socket, with deadlines on every wait:
// it can send anything, stop anywhere, half-close or reset, and tell how the server ended.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bytes.hpp"

namespace hostile {

using test::bytes;
using test::operator+;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How a wait for the server's end came out.
enum class ending { eof, reset, still_open };

struct read_result {
  bytes data;  // everything received before the end
  ending how = ending::still_open;
  clock_type::time_point at;  // when the end was seen
};

class raw_client {
 public:
  explicit raw_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket: " + std::to_string(errno));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      const int e = errno;
      ::close(fd_);
      throw std::runtime_error("connect: " + std::to_string(e));
    }
    connected_at_ = clock_type::now();
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  raw_client(raw_client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), connected_at_(other.connected_at_) {}
  raw_client& operator=(raw_client&& other) noexcept {
    std::swap(fd_, other.fd_);
    connected_at_ = other.connected_at_;
    return *this;
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  ~raw_client() { close(); }

  int fd() const { return fd_; }
  clock_type::time_point connected_at() const { return connected_at_; }

  // False when the server has already gone (the octets could not be handed to the kernel).
  bool send(const bytes& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Exactly n octets, or fewer when the connection ends or `limit` passes first.
  bytes receive(std::size_t n, std::chrono::milliseconds limit = 10s) {
    bytes out(n);
    std::size_t got = 0;
    const auto deadline = clock_type::now() + limit;
    while (got < n && wait_readable(deadline)) {
      const auto k = ::recv(fd_, out.data() + got, n - got, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got += static_cast<std::size_t>(k);
    }
    out.resize(got);
    return out;
  }

  // Discards n octets (a bulk download), reading in large chunks; returns how many came.
  std::size_t drain(std::size_t n, std::chrono::milliseconds limit = 30s) {
    static thread_local std::vector<std::uint8_t> sink(1 << 20);
    std::size_t got = 0;
    const auto deadline = clock_type::now() + limit;
    while (got < n && wait_readable(deadline)) {
      const auto k = ::recv(fd_, sink.data(), std::min(sink.size(), n - got), 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      got += static_cast<std::size_t>(k);
    }
    return got;
  }

  // Reads until the server ends the connection (end of stream or reset) or `limit` passes.
  read_result read_to_end(std::chrono::milliseconds limit = 10s) {
    read_result r;
    const auto deadline = clock_type::now() + limit;
    std::uint8_t chunk[4096];
    while (wait_readable(deadline)) {
      const auto k = ::recv(fd_, chunk, sizeof chunk, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k > 0) {
        r.data.insert(r.data.end(), chunk, chunk + k);
        continue;
      }
      r.how = k == 0 ? ending::eof : ending::reset;
      r.at = clock_type::now();
      return r;
    }
    r.at = clock_type::now();
    return r;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Close with SO_LINGER 0: the kernel sends a reset instead of an orderly end.
  void reset() {
    linger hard{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close();
  }

  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  bool wait_readable(clock_type::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      return r > 0;
    }
  }

  int fd_ = -1;
  clock_type::time_point connected_at_;
};

// The request block for 127.0.0.1:port.
inline bytes connect_request_v4(std::uint16_t port, std::uint8_t cmd = 0x01) {
  return test::b({0x05, cmd, 0x00, 0x01, 127, 0, 0, 1, port >> 8, port & 0xff});
}

// The reply to a refused request: REP and BND 0.0.0.0:0.
inline bytes failure_reply(std::uint8_t rep) {
  return test::b({0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
}

// Octets that differ from one call to the next, so that an echo proves the right data came.
inline bytes payload(std::size_t n, std::uint32_t seed) {
  bytes out(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<std::uint8_t>(x);
  }
  return out;
}

}  // namespace hostile
