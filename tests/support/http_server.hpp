// An in-process HTTP/1.0 target for curl: "GET /bytes/N" answers N deterministic octets
// (test::random_payload(N, 5)), anything else a short greeting.
#pragma once

#include <charconv>
#include <memory>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include "accept_each.hpp"
#include "digest.hpp"
#include "socks5/auth/driver.hpp"

namespace test {

inline constexpr const char* http_greeting = "hello through socks5\n";

class http_server {
 public:
  explicit http_server(asio::io_context& ctx,
                       asio::ip::address addr = asio::ip::address_v4::loopback())
      : acceptor_(
            std::make_shared<asio::ip::tcp::acceptor>(ctx, asio::ip::tcp::endpoint(addr, 0))) {
    asio::co_spawn(ctx, accept_each(acceptor_, &serve), asio::detached);
  }
  ~http_server() {
    std::error_code ignored;
    acceptor_->close(ignored);
  }
  std::uint16_t port() const { return acceptor_->local_endpoint().port(); }

 private:
  static asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    std::string head;
    auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(head), "\r\n\r\n",
                                                   socks5::detail::use_tuple);
    if (ec) co_return;
    std::string body = http_greeting;
    const std::string prefix = "GET /bytes/";
    if (head.rfind(prefix, 0) == 0) {
      std::size_t size = 0;
      std::from_chars(head.data() + prefix.size(), head.data() + head.size(), size);
      const auto data = random_payload(size, 5);
      body.assign(data.begin(), data.end());
    }
    const std::string response =
        "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    auto [wec, w] =
        co_await asio::async_write(socket, asio::buffer(response), socks5::detail::use_tuple);
    (void)wec;  // the client may be gone: nothing to do about it
    std::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
  }

  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace test
