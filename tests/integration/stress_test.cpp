// The server under load from many threads at once: sessions on several executors, a strand pool,
// metrics scraped while they run, stop() called from a thread of its own. Every byte and every
// count is checked; under ThreadSanitizer (tests/sanitize) these are the runs it watches.
#include <doctest/doctest.h>

#include <future>

#include <asio/strand.hpp>

#include "http_client.hpp"
#include "prometheus.hpp"
#include "records.hpp"
#include "socks5/client.hpp"
#include "socks5/metrics.hpp"
#include "socks5/metrics_server.hpp"
#include "threaded.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::metric_value;

namespace {

std::string scrape(const tcp::endpoint& where) {
  return test::http_body(test::http_get(where, "/metrics"));
}

// io_contexts of one thread each, for server_options::session_executors.
class worker_pool {
 public:
  explicit worker_pool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto& c = *contexts_.emplace_back(std::make_unique<asio::io_context>(1));
      guards_.push_back(asio::make_work_guard(c));
    }
  }
  ~worker_pool() { join(); }

  std::vector<asio::any_io_executor> executors() const {
    std::vector<asio::any_io_executor> out;
    for (const auto& c : contexts_)
      out.push_back(c->get_executor());
    return out;
  }
  void run() {
    for (auto& c : contexts_)
      threads_.emplace_back([&c = *c] { c.run(); });
  }
  // Lets the threads end once their contexts have nothing left to do.
  void join() {
    guards_.clear();
    for (auto& t : threads_)
      t.join();
    threads_.clear();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

// Runs `ctx` on `n` threads until it has no work left.
void run_on_threads(asio::io_context& ctx, int n) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&ctx] { ctx.run_for(120s); });
  for (auto& t : threads)
    t.join();
}

}  // namespace

TEST_CASE("stress: four session executors, 120 concurrent clients, metrics scraped throughout") {
  constexpr int clients = 120;
  constexpr std::size_t size = 48 * 1024;
  auto registry = std::make_shared<metrics>();
  test::record_log log;
  worker_pool workers(4);
  server_options options;
  options.session_executors = workers.executors();
  options.metrics = registry;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(
      options);  // the listener and the echo target, on a thread of their own
  workers.run();
  metrics_server endpoint(proxy.context().get_executor(), registry);
  REQUIRE_FALSE(endpoint.listen({asio::ip::address_v4::loopback(), 0}));
  endpoint.start();
  const auto where = endpoint.local_endpoints().at(0);

  // Scrapes while the sessions run: the counters only ever grow.
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0}, regressions{0};
  std::thread scraper([&] {
    std::int64_t last_up = 0, last_total = 0;
    while (!done.load()) {
      const auto body = scrape(where);
      const auto up = metric_value(body, "socks5_bytes_total{direction=\"up\"}");
      const auto total = metric_value(body, "socks5_handshake_seconds_count");
      if (up < last_up || total < last_total) ++regressions;
      last_up = up;
      last_total = total;
      ++scrapes;
    }
  });

  // Clients on a context of two threads, each on a strand of its own.
  asio::io_context client_ctx;
  std::atomic<int> good{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  for (int i = 0; i < clients; ++i) {
    auto strand = asio::make_strand(client_ctx);
    asio::co_spawn(
        strand,
        [&, i, strand]() -> asio::awaitable<void> {
          socks5::client c(strand, "127.0.0.1", proxy.port());
          auto [ec, got] = co_await test::connect_and_echo(c, address(proxy.echo_endpoint()), size,
                                                           static_cast<unsigned>(i),
                                                           test::echo_mode::half_close);
          const auto expected = test::sha256(test::random_payload(size, static_cast<unsigned>(i)));
          if (!ec && !got.error && got.size == size && got.hash == expected) {
            ++good;
          } else {
            std::lock_guard lock(mutex);
            failures.push_back(ec ? ec.message() : got.error.message());
          }
        },
        asio::detached);
  }
  run_on_threads(client_ctx, 2);
  done = true;
  scraper.join();
  for (const auto& f : failures)
    MESSAGE("client failed: " << f);
  CHECK(good.load() == clients);

  // Each session's record and its metrics are in before the server is asked anything.
  const auto records = log.wait_for(clients, 30s);
  CHECK(records.size() == static_cast<std::size_t>(clients));
  std::size_t exact = 0;
  for (const auto& r : records)
    if (r.outcome() == "ok" && r.bytes_up == size && r.bytes_down == size) ++exact;
  CHECK(exact == static_cast<std::size_t>(clients));
  CHECK(proxy.server().total_sessions() == static_cast<std::uint64_t>(clients));
  CHECK(proxy.server().active_sessions() == 0);

  const auto body = scrape(where);
  INFO(body);
  CHECK(scrapes.load() > 0);
  CHECK(regressions.load() == 0);
  CHECK(metric_value(body, "socks5_sessions_total{method=\"none\",outcome=\"ok\"}") == clients);
  CHECK(metric_value(body, "socks5_sessions_active{method=\"none\"}") == 0);
  CHECK(metric_value(body, "socks5_sessions_active{method=\"negotiating\"}") == 0);
  CHECK(metric_value(body, "socks5_requests_total{command=\"connect\",reply=\"succeeded\"}") ==
        clients);
  CHECK(metric_value(body, "socks5_handshake_seconds_count") == clients);
  CHECK(metric_value(body, "socks5_bytes_total{direction=\"up\"}") ==
        static_cast<std::int64_t>(clients * size));
  CHECK(metric_value(body, "socks5_bytes_total{direction=\"down\"}") ==
        static_cast<std::int64_t>(clients * size));

  endpoint.stop();
  proxy.server().stop();
  workers.join();
}

TEST_CASE("stress: stop() from another thread while 40 sessions relay on a pool of four threads") {
  constexpr int clients = 40;
  constexpr std::size_t chunk = 16 * 1024;
  auto registry = std::make_shared<metrics>();
  test::record_log log;
  server_options options;
  options.metrics = registry;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options, 4);  // sessions on strands of a context run by four threads

  // Each client sends a chunk and reads its echo back, over and over, until the server closes.
  asio::io_context client_ctx;
  std::atomic<int> connected{0}, rounds{0}, mismatches{0}, ended{0};
  for (int i = 0; i < clients; ++i) {
    auto strand = asio::make_strand(client_ctx);
    asio::co_spawn(
        strand,
        [&, i, strand]() -> asio::awaitable<void> {
          socks5::client c(strand, "127.0.0.1", proxy.port());
          auto [ec, s] =
              co_await c.async_connect(address(proxy.echo_endpoint()), socks5::detail::use_tuple);
          if (ec) co_return;
          ++connected;
          const auto data = test::random_payload(chunk, static_cast<unsigned>(i));
          std::vector<char> back(chunk);
          for (;;) {
            auto [wec, w] =
                co_await asio::async_write(s, asio::buffer(data), socks5::detail::use_tuple);
            if (wec) break;
            auto [rec, r] =
                co_await asio::async_read(s, asio::buffer(back), socks5::detail::use_tuple);
            if (rec) break;
            if (back != data) ++mismatches;
            ++rounds;
          }
          ++ended;
        },
        asio::detached);
  }
  std::thread client_threads([&] { run_on_threads(client_ctx, 2); });

  // Every session relaying, and some rounds done, before the stop.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((connected.load() < clients || rounds.load() < 4 * clients) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(connected.load() == clients);

  std::promise<void> stopped;
  std::thread stopper([&] { proxy.server().async_stop(0ms, [&stopped] { stopped.set_value(); }); });
  const bool in_time = stopped.get_future().wait_for(60s) == std::future_status::ready;
  stopper.join();
  REQUIRE(in_time);

  // Once async_stop has completed every session has ended, and has been recorded and counted.
  CHECK(proxy.server().active_sessions() == 0);
  const auto records = log.wait_for(0);
  CHECK(records.size() == static_cast<std::size_t>(clients));
  std::size_t by_stop = 0;
  for (const auto& r : records)
    if (r.outcome() == "stopped" && r.bytes_up >= r.bytes_down) ++by_stop;
  CHECK(by_stop == static_cast<std::size_t>(clients));
  const auto body = registry->render();
  INFO(body);
  CHECK(metric_value(body, "socks5_sessions_total{method=\"none\",outcome=\"stopped\"}") ==
        clients);
  CHECK(metric_value(body, "socks5_sessions_active{method=\"none\"}") == 0);

  client_threads.join();
  CHECK(ended.load() == clients);
  CHECK(mismatches.load() == 0);
  CHECK(rounds.load() >= 4 * clients);
}
