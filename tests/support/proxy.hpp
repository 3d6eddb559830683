// An in-process socks5::server on loopback for tests.
#pragma once

#include <doctest/doctest.h>

#include "socks5/client.hpp"
#include "socks5/server.hpp"

namespace test {

struct proxy {
  explicit proxy(asio::io_context& ctx, socks5::server_options options = {},
                 asio::ip::address addr = asio::ip::address_v4::loopback())
      : server(ctx.get_executor(), std::move(options)) {
    REQUIRE_FALSE(server.listen({addr, 0}));
    server.start();
  }

  asio::ip::tcp::endpoint endpoint() const { return server.local_endpoints().at(0); }
  std::uint16_t port() const { return endpoint().port(); }

  socks5::client client(asio::io_context& ctx, socks5::client_options options = {}) const {
    return socks5::client(ctx.get_executor(), endpoint().address().to_string(), port(),
                          std::move(options));
  }

  socks5::server server;
};

}  // namespace test
