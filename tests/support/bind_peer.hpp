// A BIND round: the client asks for a listener, a peer connects to the announced address and
// says something, the client accepts and reads it to the end.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <string>

#include "socks5/bind.hpp"
#include "socks5/client.hpp"

namespace test {

struct bind_heard {
  std::error_code error;
  std::string text;      // what the peer said, as it arrived through the proxy
  socks5::address peer;  // where the proxy says it came from
};

inline asio::awaitable<void> say_to(asio::ip::tcp::endpoint where, std::string words) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(where, asio::use_awaitable);
  co_await asio::async_write(s, asio::buffer(words), asio::use_awaitable);
  s.shutdown(asio::ip::tcp::socket::shutdown_send);
}

inline asio::awaitable<bind_heard> bind_and_hear(const socks5::client& c, socks5::address expected,
                                                 std::string words) {
  bind_heard out;
  auto bound = co_await c.async_bind(expected, socks5::detail::use_tuple);
  out.error = std::get<0>(bound);
  if (out.error) co_return out;
  auto& listener = std::get<1>(bound);
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, say_to(listener.announce().tcp_endpoint(), std::move(words)), asio::detached);
  auto accepted = co_await listener.async_accept(out.peer, socks5::detail::use_tuple);
  out.error = std::get<0>(accepted);
  if (out.error) co_return out;
  auto [ec, n] = co_await asio::async_read(std::get<1>(accepted), asio::dynamic_buffer(out.text),
                                           socks5::detail::use_tuple);
  if (ec != asio::error::eof) out.error = ec;  // the peer's half-close is how it ends
  co_return out;
}

}  // namespace test
