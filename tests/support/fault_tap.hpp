// A forwarder between a client and a proxy that misbehaves on cue, for fault tests: it closes
// both connections once a direction has carried a given number of octets (a peer vanishing in
// the middle of a message), or holds what the client sends after a point until a given time (a
// message that arrives late).
#pragma once

#include <chrono>
#include <limits>
#include <memory>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "socks5/auth/driver.hpp"

namespace test {

struct tap_rules {
  static constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
  // Octets passed client -> proxy (up) or proxy -> client (down) before both connections are
  // closed.
  std::size_t cut_up = never;
  std::size_t cut_down = never;
  // Client octets beyond this many wait until `release`.
  std::size_t hold_up = never;
  std::chrono::steady_clock::time_point release{};
};

class fault_tap {
 public:
  fault_tap(asio::io_context& ctx, asio::ip::tcp::endpoint upstream, tap_rules rules)
      : acceptor_(ctx, {asio::ip::address_v4::loopback(), 0}), upstream_(upstream), rules_(rules) {
    asio::co_spawn(ctx, run(), asio::detached);
  }
  ~fault_tap() {
    std::error_code ignored;
    acceptor_.close(ignored);
    if (link_) link_->close();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Whether a cut has closed the connections.
  bool cut() const { return link_ && link_->cut; }

 private:
  struct link {
    explicit link(const asio::any_io_executor& ex) : client(ex), server(ex) {}
    void close() {
      std::error_code ignored;
      client.close(ignored);
      server.close(ignored);
    }
    asio::ip::tcp::socket client;
    asio::ip::tcp::socket server;
    bool cut = false;
  };

  asio::awaitable<void> run() {
    auto l = std::make_shared<link>(acceptor_.get_executor());
    link_ = l;
    auto [accept_ec] = co_await acceptor_.async_accept(l->client, socks5::detail::use_tuple);
    if (accept_ec) co_return;
    auto [connect_ec] = co_await l->server.async_connect(upstream_, socks5::detail::use_tuple);
    if (connect_ec) co_return l->close();
    auto ex = acceptor_.get_executor();
    asio::co_spawn(ex, copy(l, l->client, l->server, rules_.cut_up, rules_.hold_up),
                   asio::detached);
    asio::co_spawn(ex, copy(l, l->server, l->client, rules_.cut_down, tap_rules::never),
                   asio::detached);
  }

  asio::awaitable<void> copy(std::shared_ptr<link> l, asio::ip::tcp::socket& from,
                             asio::ip::tcp::socket& to, std::size_t cut_at, std::size_t hold_at) {
    std::vector<std::uint8_t> buf(65536);
    std::size_t passed = 0;
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
      if (ec) {
        std::error_code ignored;
        to.shutdown(asio::socket_base::shutdown_send, ignored);
        co_return;
      }
      if (passed + n > hold_at) {
        asio::steady_timer wait(from.get_executor(), rules_.release);
        co_await wait.async_wait(socks5::detail::use_tuple);
      }
      const std::size_t pass = std::min(n, cut_at - passed);
      auto [wec, w] =
          co_await asio::async_write(to, asio::buffer(buf.data(), pass), socks5::detail::use_tuple);
      passed += pass;
      if (wec) co_return;
      if (passed == cut_at) {
        l->cut = true;
        co_return l->close();
      }
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint upstream_;
  tap_rules rules_;
  std::shared_ptr<link> link_;
};

}  // namespace test
