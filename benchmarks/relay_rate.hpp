// Bulk upload through an in-process socks5::server negotiating the given methods, for the
// protected-path benchmarks: the rate of the relay, to be set beside the raw cost of its method.
#pragma once

#include <vector>

#include "bench.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"

namespace bench {

// Uploads `total` octets to `target` through a proxy offering `server_methods`, with a client
// offering `client_methods`: MiB/s.
inline double relay_rate(std::vector<socks5::any_server_auth> server_methods,
                         std::vector<socks5::any_client_auth> client_methods, std::size_t total,
                         const asio::ip::tcp::endpoint& target) {
  background proxy_thread;
  socks5::server_options options;
  options.methods = std::move(server_methods);
  socks5::server server(proxy_thread.context().get_executor(), options);
  server.listen({asio::ip::address_v4::loopback(), 0});
  server.start();
  asio::io_context ctx;
  socks5::client_options copts;
  copts.methods = std::move(client_methods);
  socks5::client c(ctx.get_executor(), "localhost", server.local_endpoints().at(0).port(), copts);
  const socks5::address where(target);
  const auto took = run(ctx, [&]() -> asio::awaitable<clock_type::duration> {
    auto s = co_await c.async_connect(where, asio::use_awaitable);
    auto d = co_await push(s, total);
    co_return d;
  }());
  server.stop();
  return mib_per_second(total, took);
}

}  // namespace bench
