// An in-process UDP target that sends every datagram back to where it came from, and counts.
#pragma once

#include <memory>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>

#include "socks5/auth/driver.hpp"

namespace test {

class udp_echo {
 public:
  explicit udp_echo(asio::io_context& ctx,
                    asio::ip::address addr = asio::ip::address_v4::loopback())
      : state_(std::make_shared<state>(ctx, addr)) {
    asio::co_spawn(ctx, run(state_), asio::detached);
  }
  ~udp_echo() {
    std::error_code ignored;
    state_->socket.close(ignored);
  }
  asio::ip::udp::endpoint endpoint() const { return state_->socket.local_endpoint(); }
  std::size_t received() const { return state_->received; }
  const asio::ip::udp::endpoint& last_sender() const { return state_->last_sender; }

 private:
  struct state {
    state(asio::io_context& ctx, asio::ip::address addr) : socket(ctx, {addr, 0}) {}
    asio::ip::udp::socket socket;
    std::size_t received = 0;
    asio::ip::udp::endpoint last_sender;
  };

  static asio::awaitable<void> run(std::shared_ptr<state> st) {
    std::vector<char> buf(65536);
    for (;;) {
      asio::ip::udp::endpoint from;
      auto [ec, n] = co_await st->socket.async_receive_from(asio::buffer(buf), from,
                                                            socks5::detail::use_tuple);
      if (ec) co_return;
      ++st->received;
      st->last_sender = from;
      auto [sec, sent] = co_await st->socket.async_send_to(asio::buffer(buf.data(), n), from,
                                                           socks5::detail::use_tuple);
      (void)sec;
    }
  }

  std::shared_ptr<state> state_;
};

}  // namespace test
