// An in-process echo target: whatever a connection sends comes back, and its end of stream is
// passed on as a half-close, so relays can be checked in both directions.
#pragma once

#include <memory>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "accept_each.hpp"
#include "socks5/auth/driver.hpp"

namespace test {

class echo_server {
 public:
  explicit echo_server(asio::io_context& ctx,
                       asio::ip::address addr = asio::ip::address_v4::loopback())
      : acceptor_(
            std::make_shared<asio::ip::tcp::acceptor>(ctx, asio::ip::tcp::endpoint(addr, 0))) {
    asio::co_spawn(ctx, accept_each(acceptor_, &echo), asio::detached);
  }
  ~echo_server() {
    std::error_code ignored;
    acceptor_->close(ignored);
  }

  asio::ip::tcp::endpoint endpoint() const { return acceptor_->local_endpoint(); }
  std::uint16_t port() const { return endpoint().port(); }

 private:
  static asio::awaitable<void> echo(asio::ip::tcp::socket socket) {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
      if (ec) {
        std::error_code ignored;
        socket.shutdown(asio::socket_base::shutdown_send, ignored);
        co_return;
      }
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buf.data(), n),
                                                 socks5::detail::use_tuple);
      if (wec) co_return;
    }
  }

  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace test
