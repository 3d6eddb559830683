// A recording forwarder between a client and a server: what crosses the wire in each direction
// is kept, for tests that check what an eavesdropper would see.
#pragma once

#include <memory>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "socks5/auth/driver.hpp"

namespace test {

class tap {
 public:
  tap(asio::io_context& ctx, asio::ip::tcp::endpoint upstream)
      : acceptor_(ctx, {asio::ip::address_v4::loopback(), 0}), upstream_(upstream) {
    asio::co_spawn(ctx, run(), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::uint8_t> to_server;  // everything the client sent
  std::vector<std::uint8_t> to_client;  // everything the server sent

 private:
  asio::awaitable<void> run() {
    using namespace asio::experimental::awaitable_operators;
    auto client = co_await acceptor_.async_accept(asio::use_awaitable);
    asio::ip::tcp::socket server(acceptor_.get_executor());
    co_await server.async_connect(upstream_, asio::use_awaitable);
    co_await (copy(client, server, to_server) && copy(server, client, to_client));
  }

  static asio::awaitable<void> copy(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
                                    std::vector<std::uint8_t>& record) {
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
      record.insert(record.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      if (ec) {
        std::error_code ignored;
        to.shutdown(asio::socket_base::shutdown_send, ignored);
        co_return;
      }
      auto [wec, w] =
          co_await asio::async_write(to, asio::buffer(buf.data(), n), socks5::detail::use_tuple);
      if (wec) co_return;
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint upstream_;
};

}  // namespace test
