// Bulk throughput through socks5::server next to a direct loopback connection, measured in the
// same run and printed as a ratio (absolute figures on a shared machine are noise).
//   relay-throughput [--mib N] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "socks5/client.hpp"
#include "socks5/server.hpp"

using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// A sink that reads everything and then closes.
asio::awaitable<void> sink(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(socks5::detail::use_tuple);
    if (ec) co_return;
    asio::co_spawn(
        acceptor.get_executor(),
        [](tcp::socket s) -> asio::awaitable<void> {
          std::vector<char> buf(256 * 1024);
          for (;;) {
            auto [rec, n] =
                co_await s.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
            if (rec) co_return;
          }
        }(std::move(s)),
        asio::detached);
  }
}

template <class Stream>
asio::awaitable<void> push(Stream& s, std::size_t total) {
  std::vector<char> buf(256 * 1024, 'x');
  std::size_t sent = 0;
  while (sent < total) {
    const auto chunk = std::min(buf.size(), total - sent);
    auto [ec, n] =
        co_await asio::async_write(s, asio::buffer(buf.data(), chunk), socks5::detail::use_tuple);
    if (ec) throw std::system_error(ec);
    sent += n;
  }
}

double mib_per_second(std::size_t bytes, clock_type::duration d) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0) / std::chrono::duration<double>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = 1024, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--mib") mib = std::stoul(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoul(argv[i + 1]);
  }
  const std::size_t total = mib * 1024 * 1024;

  // The proxy runs on its own thread, as a separate process would.
  asio::io_context proxy_ctx;
  socks5::server server(proxy_ctx.get_executor(), {});
  server.listen({asio::ip::address_v4::loopback(), 0});
  server.start();
  auto work = asio::make_work_guard(proxy_ctx);
  std::thread proxy_thread([&] { proxy_ctx.run(); });

  asio::io_context sink_ctx;
  tcp::acceptor acceptor(sink_ctx, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(sink_ctx, sink(acceptor), asio::detached);
  auto sink_work = asio::make_work_guard(sink_ctx);
  std::thread sink_thread([&] { sink_ctx.run(); });

  asio::io_context ctx;
  const auto target = acceptor.local_endpoint();
  const auto proxy_port = server.local_endpoints().at(0).port();
  double best_direct = 0, best_proxy = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    // Alternate the two so that drift on a shared machine hits both alike.
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          tcp::socket s(ctx);
          co_await s.async_connect(target, asio::use_awaitable);
          const auto start = clock_type::now();
          co_await push(s, total);
          best_direct = std::max(best_direct, mib_per_second(total, clock_type::now() - start));
        },
        asio::detached);
    ctx.run();
    ctx.restart();
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          socks5::client c(ctx.get_executor(), "127.0.0.1", proxy_port);
          const socks5::address where(target);
          auto s = co_await c.async_connect(where, asio::use_awaitable);
          const auto start = clock_type::now();
          co_await push(s, total);
          best_proxy = std::max(best_proxy, mib_per_second(total, clock_type::now() - start));
        },
        asio::detached);
    ctx.run();
    ctx.restart();
  }
  std::printf("bulk upload, %zu MiB, best of %zu rounds\n", mib, rounds);
  std::printf("  direct           %9.0f MiB/s\n", best_direct);
  std::printf("  socks5-proxy     %9.0f MiB/s   ratio to direct %.2f\n", best_proxy,
              best_proxy / best_direct);

  server.stop();
  work.reset();
  sink_work.reset();
  acceptor.close();
  sink_ctx.stop();
  proxy_thread.join();
  sink_thread.join();
  return 0;
}
