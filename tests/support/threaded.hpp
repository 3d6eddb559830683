// A proxy and an echo target running on their own thread, for tests that talk to them with
// plain blocking sockets, byte by byte.
#pragma once

#include <chrono>
#include <optional>
#include <thread>

#include <asio/read.hpp>
#include <asio/write.hpp>

#include "bytes.hpp"
#include "echo_server.hpp"
#include "http_server.hpp"
#include "socks5/server.hpp"

namespace test {

class threaded_proxy {
 public:
  explicit threaded_proxy(socks5::server_options options = {}, std::size_t threads = 1)
      : work_(asio::make_work_guard(ctx_)), echo_(ctx_), http_(ctx_) {
    server_.emplace(ctx_.get_executor(), std::move(options));
    REQUIRE_FALSE(server_->listen({asio::ip::address_v4::loopback(), 0}));
    server_->start();
    for (std::size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { ctx_.run(); });
  }
  ~threaded_proxy() {
    server_->stop();
    work_.reset();
    ctx_.stop();
    for (auto& t : threads_)
      t.join();
  }

  socks5::server& server() { return *server_; }
  asio::ip::tcp::endpoint endpoint() const { return server_->local_endpoints().at(0); }
  asio::ip::tcp::endpoint echo_endpoint() const { return echo_.endpoint(); }
  std::uint16_t http_port() const { return http_.port(); }
  std::uint16_t port() const { return endpoint().port(); }
  asio::io_context& context() { return ctx_; }

  // A blocking socket connected to the proxy.
  asio::ip::tcp::socket connect() {
    asio::ip::tcp::socket s(client_ctx_);
    s.connect(endpoint());
    return s;
  }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  echo_server echo_;
  http_server http_;
  std::optional<socks5::server> server_;
  std::vector<std::thread> threads_;
  asio::io_context client_ctx_;
};

inline void send(asio::ip::tcp::socket& s, const bytes& data) {
  asio::write(s, asio::buffer(data));
}

// Reads exactly n octets, or fewer if the peer closes; waits at most `limit`.
inline bytes receive(asio::ip::tcp::socket& s, std::size_t n,
                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  bytes out(n);
  std::size_t got = 0;
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (got < n) {
    std::error_code ec;
    const auto k = s.read_some(asio::buffer(out.data() + got, n - got), ec);
    got += k;
    if (ec) break;
  }
  out.resize(got);
  return out;
}

// True when the peer closed the connection (end of stream or reset) within `limit`.
inline bool closed_by_peer(asio::ip::tcp::socket& s,
                           std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::uint8_t c;
  std::error_code ec;
  for (;;) {
    const auto n = s.read_some(asio::buffer(&c, 1), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec || n == 0) return false;  // timed out (EAGAIN) or another error
  }
}

// The request block for an IPv4 endpoint.
inline bytes connect_request(const asio::ip::tcp::endpoint& ep, std::uint8_t cmd = 0x01) {
  const auto a = ep.address().to_v4().to_bytes();
  return b({0x05, cmd, 0x00, 0x01, a[0], a[1], a[2], a[3], ep.port() >> 8, ep.port() & 0xff});
}

}  // namespace test
