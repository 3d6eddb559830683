// socks5-proxy --threads N: sessions spread over N threads, many clients at once, the metrics
// endpoint scraped while they run, then a graceful stop by SIGTERM.
#include <doctest/doctest.h>

#include <asio/strand.hpp>

#include "echo_server.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "prometheus.hpp"
#include "socks5/client.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using test::metric_value;

TEST_CASE("socks5-proxy --threads 4: 80 concurrent clients, metrics scraped meanwhile, SIGTERM") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  constexpr int clients = 80;
  constexpr std::size_t size = 64 * 1024;
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::echo_server echo(target_ctx);
  auto target_work = asio::make_work_guard(target_ctx);
  std::thread target([&] { target_ctx.run(); });

  const auto port = test::free_port();
  const auto metrics_port = test::free_port();
  test::process proxy({*bin, "--listen", "127.0.0.1:" + std::to_string(port), "--threads", "4",
                       "--metrics", "127.0.0.1:" + std::to_string(metrics_port), "--quiet"},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(metrics_port));
  const asio::ip::tcp::endpoint where(asio::ip::address_v4::loopback(), metrics_port);

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done.load()) {
      if (metric_value(test::http_body(test::http_get(where, "/metrics")),
                       "socks5_handshake_seconds_count") >= 0)
        ++scrapes;
    }
  });

  asio::io_context client_ctx;
  std::atomic<int> good{0};
  for (int i = 0; i < clients; ++i) {
    auto strand = asio::make_strand(client_ctx);
    asio::co_spawn(
        strand,
        [&, i, strand]() -> asio::awaitable<void> {
          socks5::client c(strand, "127.0.0.1", port);
          auto [ec, got] = co_await test::connect_and_echo(c, address(echo.endpoint()), size,
                                                           static_cast<unsigned>(i),
                                                           test::echo_mode::half_close);
          const auto expected = test::sha256(test::random_payload(size, static_cast<unsigned>(i)));
          if (!ec && !got.error && got.size == size && got.hash == expected) ++good;
        },
        asio::detached);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&] { client_ctx.run_for(120s); });
  for (auto& t : threads)
    t.join();
  done = true;
  scraper.join();
  CHECK(good.load() == clients);
  CHECK(scrapes.load() > 0);

  // A session's end is counted a moment after its client has seen it.
  const std::string ok_series = "socks5_sessions_total{method=\"none\",outcome=\"ok\"}";
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text = test::http_body(test::http_get(where, "/metrics"));
    if (metric_value(text, ok_series) == clients) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO(text);
  CHECK(metric_value(text, ok_series) == clients);
  CHECK(metric_value(text, "socks5_sessions_active{method=\"none\"}") == 0);
  CHECK(metric_value(text, "socks5_bytes_total{direction=\"up\"}") ==
        static_cast<std::int64_t>(clients * size));
  CHECK(metric_value(text, "socks5_bytes_total{direction=\"down\"}") ==
        static_cast<std::int64_t>(clients * size));

  proxy.signal(SIGTERM);
  CHECK(proxy.wait(30s) == 0);
  const auto log = proxy.output();
  INFO(log);
  CHECK(log.find("stopping") != std::string::npos);
  target_work.reset();
  target_ctx.stop();
  target.join();
}
