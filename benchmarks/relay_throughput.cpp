// Bulk throughput through socks5::server next to a direct loopback connection, measured in the
// same run and printed as a ratio (absolute figures on a shared machine are noise).
//   relay-throughput [--mib N] [--rounds N]
#include <cstdio>
#include <string>

#include "bench.hpp"
#include "cli.hpp"
#include "socks5/client.hpp"
#include "socks5/server.hpp"

using asio::ip::tcp;

int main(int argc, char** argv) {
  std::size_t mib = 1024, rounds = 3;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    if (*opt == "--help")
      cli::usage("relay-throughput [--mib N] [--rounds N]\n");
    else if (*opt == "--mib")
      mib = cli::number(args.value(), 1, 1u << 20);
    else if (*opt == "--rounds")
      rounds = cli::number(args.value(), 1, 1000);
    else
      cli::fail("unknown option '{}' (see --help)", *opt);
  }
  cli::no_more(args);
  const std::size_t total = mib * 1024 * 1024;

  bench::background proxy_thread, sink_thread;
  socks5::server server(proxy_thread.context().get_executor(), {});
  server.listen({asio::ip::address_v4::loopback(), 0});
  server.start();
  bench::sink target(sink_thread.context());

  asio::io_context ctx;
  const auto proxy_port = server.local_endpoints().at(0).port();
  double best_direct = 0, best_proxy = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    // Alternate the two so that drift on a shared machine hits both alike.
    const auto direct = bench::run(ctx, [&]() -> asio::awaitable<bench::clock_type::duration> {
      tcp::socket s(ctx);
      co_await s.async_connect(target.endpoint(), asio::use_awaitable);
      auto d = co_await bench::push(s, total);
      co_return d;
    }());
    best_direct = std::max(best_direct, bench::mib_per_second(total, direct));
    const auto proxied = bench::run(ctx, [&]() -> asio::awaitable<bench::clock_type::duration> {
      socks5::client c(ctx.get_executor(), "127.0.0.1", proxy_port);
      const socks5::address where(target.endpoint());
      auto s = co_await c.async_connect(where, asio::use_awaitable);
      auto d = co_await bench::push(s, total);
      co_return d;
    }());
    best_proxy = std::max(best_proxy, bench::mib_per_second(total, proxied));
  }
  std::printf("bulk upload, %zu MiB, best of %zu rounds\n", mib, rounds);
  std::printf("  direct           %9.0f MiB/s\n", best_direct);
  std::printf("  socks5-proxy     %9.0f MiB/s   ratio to direct %.2f\n", best_proxy,
              best_proxy / best_direct);
  server.stop();
  return 0;
}
