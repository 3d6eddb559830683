// socks5::server: deadlines, limits, stopping, threads, backpressure and the handler hook.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "echo_server.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "threaded.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::b;
using test::bytes;
using test::operator+;

namespace {

void greet_and_connect(tcp::socket& s, const tcp::endpoint& target) {
  test::send(s, b({0x05, 0x01, 0x00}));
  REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, test::connect_request(target));
  REQUIRE(test::receive(s, 10).size() == 10);
}

}  // namespace

TEST_CASE("handshake deadline: a client dripping one octet at a time is cut at the deadline") {
  test::record_log log;
  server_options options;
  options.handshake_timeout = 1s;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  // Greeting, then a username/password-free request dripped slowly: each octet arrives well
  // within any per-read timeout, yet the whole handshake cannot finish in time.
  const bytes handshake = b({0x05, 0x01, 0x00});
  const auto start = std::chrono::steady_clock::now();
  test::send(s, handshake);
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  const bytes request = test::connect_request(proxy.echo_endpoint());
  bool cut = false;
  for (auto octet : request) {
    std::error_code ec;
    asio::write(s, asio::buffer(&octet, 1), ec);
    if (ec) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  CHECK((cut || test::closed_by_peer(s, 3s)));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 900ms);
  CHECK(elapsed < 4s);
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].error == errc::handshake_timeout);
  CHECK(records[0].outcome() == "timeout");
}

TEST_CASE("idle timeout ends a relay that carries nothing, and activity keeps it alive") {
  test::record_log log;
  server_options options;
  options.idle_timeout = 600ms;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  greet_and_connect(s, proxy.echo_endpoint());
  for (int i = 0; i < 4; ++i) {  // 1.2 s of traffic in total, never 600 ms idle
    std::this_thread::sleep_for(300ms);
    test::send(s, test::text("x"));
    CHECK(test::receive(s, 1) == test::text("x"));
  }
  CHECK(test::closed_by_peer(s, 3s));
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].error == errc::idle_timeout);
  CHECK(records[0].bytes_up == 4);
}

TEST_CASE("connection limit: the extra client is closed at once, the others keep working") {
  server_options options;
  options.max_connections = 2;
  test::threaded_proxy proxy(options);
  auto a = proxy.connect();
  auto c = proxy.connect();
  greet_and_connect(a, proxy.echo_endpoint());
  greet_and_connect(c, proxy.echo_endpoint());
  auto extra = proxy.connect();
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::closed_by_peer(extra, 3s));
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  test::send(a, test::text("still"));
  CHECK(test::receive(a, 5) == test::text("still"));
  test::send(c, test::text("here"));
  CHECK(test::receive(c, 4) == test::text("here"));
}

TEST_CASE("graceful stop: no new clients, running sessions finish within the grace period") {
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  auto running = proxy.connect();
  greet_and_connect(running, proxy.echo_endpoint());
  auto idle = proxy.connect();
  greet_and_connect(idle, proxy.echo_endpoint());

  const auto where = proxy.endpoint();
  proxy.server().stop(800ms);
  std::this_thread::sleep_for(100ms);
  asio::io_context io;
  tcp::socket late(io);
  std::error_code ec;
  late.connect(where, ec);
  CHECK(ec == asio::error::connection_refused);

  // Within the grace period the session still relays.
  test::send(running, test::text("finish"));
  CHECK(test::receive(running, 6) == test::text("finish"));
  running.shutdown(tcp::socket::shutdown_send);
  CHECK(test::closed_by_peer(running, 2s));
  // The idle one is closed when the grace period ends.
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::closed_by_peer(idle, 3s));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  auto records = log.wait_for(2);
  REQUIRE(records.size() == 2);
  CHECK(records[0].outcome() == "ok");
  CHECK(records[1].error == errc::server_stopping);
  CHECK(proxy.server().active_sessions() == 0);
}

TEST_CASE("stop with no sessions lets io_context::run return") {
  asio::io_context ctx;
  socks5::server srv(ctx.get_executor(), {});
  REQUIRE_FALSE(srv.listen({asio::ip::address_v4::loopback(), 0}));
  srv.start();
  asio::steady_timer t(ctx, 100ms);
  t.async_wait([&](std::error_code) { srv.stop(5s); });
  const auto start = std::chrono::steady_clock::now();
  ctx.run();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("a pool of threads serves 64 concurrent clients, each checked end to end") {
  test::threaded_proxy proxy({}, 4);
  asio::io_context ctx;
  const auto proxy_ep = proxy.endpoint();
  const auto target = proxy.echo_endpoint();
  std::atomic<int> good{0};
  for (int i = 0; i < 64; ++i) {
    asio::co_spawn(
        ctx,
        [&, i]() -> asio::awaitable<void> {
          socks5::client c(ctx.get_executor(), "127.0.0.1", proxy_ep.port());
          auto s = co_await c.async_connect(address(target), asio::use_awaitable);
          const auto data = test::random_payload(64 * 1024, static_cast<unsigned>(i));
          auto got = co_await test::echo_round_trip(s, data);
          if (!got.error && got.hash == test::sha256(data)) ++good;
        },
        asio::detached);
  }
  ctx.run_for(30s);
  CHECK(good.load() == 64);
  CHECK(proxy.server().total_sessions() == 64);
}

TEST_CASE("session_executors: sessions spread over io_contexts of one thread each") {
  // The listener on one context; sessions on three others, in turn; no strands.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  server_options options;
  for (int i = 0; i < 3; ++i) {
    auto& c = *contexts.emplace_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(c));
    options.session_executors.push_back(c.get_executor());
  }
  std::mutex mutex;
  std::set<std::thread::id> threads_seen;
  options.handler = [&](const request_context&) -> asio::awaitable<decision> {
    std::lock_guard lock(mutex);
    threads_seen.insert(std::this_thread::get_id());
    co_return decision::allow();
  };
  test::threaded_proxy proxy(options);
  std::vector<std::thread> threads;
  for (auto& c : contexts)
    threads.emplace_back([&c = *c] { c.run(); });

  asio::io_context ctx;
  std::atomic<int> good{0};
  for (int i = 0; i < 30; ++i) {
    asio::co_spawn(
        ctx,
        [&, i]() -> asio::awaitable<void> {
          socks5::client c(ctx.get_executor(), "127.0.0.1", proxy.port());
          auto s = co_await c.async_connect(address(proxy.echo_endpoint()), asio::use_awaitable);
          const auto data = test::random_payload(200 * 1024, static_cast<unsigned>(i));
          auto got = co_await test::echo_round_trip(s, data);
          if (!got.error && got.hash == test::sha256(data)) ++good;
        },
        asio::detached);
  }
  ctx.run_for(30s);
  CHECK(good.load() == 30);
  CHECK(threads_seen.size() == 3);
  proxy.server().stop();
  guards.clear();
  for (auto& t : threads)
    t.join();
}

TEST_CASE("backpressure: a client that never reads holds the server to a bounded amount") {
  // A target that writes as fast as it can and counts what the kernel accepted.
  asio::io_context target_ctx;
  tcp::acceptor acceptor(target_ctx, {asio::ip::address_v4::loopback(), 0});
  std::atomic<std::uint64_t> pushed{0};
  std::thread target([&] {
    auto s = acceptor.accept();
    s.non_blocking(true);
    std::vector<char> chunk(64 * 1024, 'x');
    const auto end = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < end) {
      std::error_code ec;
      const auto n = s.write_some(asio::buffer(chunk), ec);
      if (!ec)
        pushed += n;
      else if (ec == asio::error::would_block)
        std::this_thread::sleep_for(5ms);
      else
        break;
    }
  });
  server_options options;
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  greet_and_connect(s, acceptor.local_endpoint());
  // The client reads nothing for two seconds.
  std::this_thread::sleep_for(1500ms);
  const auto first = pushed.load();
  std::this_thread::sleep_for(800ms);
  const auto second = pushed.load();
  target.join();
  MESSAGE("target pushed " << first << " then " << second << " octets");
  // Socket buffers on both hops plus one relay buffer: a few MiB at most, and no growth.
  CHECK(second < 32u * 1024 * 1024);
  CHECK(second - first < 256u * 1024);
}

TEST_CASE("handler: redirect to another target, and use a stream the handler connected") {
  asio::io_context ctx;
  test::echo_server real(ctx);
  test::proxy upstream_proxy(ctx);
  server_options options;
  const std::string redirect_name = "redirect.test", via_proxy_name = "via-proxy.test";
  options.handler = [&](const request_context& rc) -> asio::awaitable<decision> {
    if (rc.target.is_domain() && rc.target.domain_name() == redirect_name)
      co_return decision::redirect(address(real.endpoint()));
    if (rc.target.is_domain() && rc.target.domain_name() == via_proxy_name) {
      // A custom proxy in a few lines: serve this request through another SOCKS proxy.
      const auto via = upstream_proxy.client(ctx);
      auto s = co_await via.async_connect(address(real.endpoint()), asio::use_awaitable);
      co_return decision::use(std::move(s));
    }
    co_return decision::deny();
  };
  test::proxy proxy(ctx, options);
  for (const char* name : {"redirect.test", "via-proxy.test"}) {
    INFO(name);
    const auto data = test::random_payload(30000);
    auto run = [&]() -> asio::awaitable<test::received> {
      const auto c = proxy.client(ctx);
      auto s = co_await c.async_connect(address(name, 9), asio::use_awaitable);
      auto got = co_await test::echo_round_trip(s, data);
      co_return got;
    };
    const auto got = test::run(ctx, run());
    CHECK_FALSE(got.error);
    CHECK(got.hash == test::sha256(data));
  }
  ctx.run_for(100ms);
  CHECK(upstream_proxy.server.total_sessions() == 1);
}

TEST_CASE("session records: client, method, target, bytes, outcome for refusals too") {
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  {
    auto s = proxy.connect();
    greet_and_connect(s, proxy.echo_endpoint());
    test::send(s, test::text("hello"));
    CHECK(test::receive(s, 5) == test::text("hello"));
  }
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x00}));
    test::receive(s, 2);
    test::send(s,
               b({0x05, 0x01, 0x00, 0x03, 0x14}) + test::text("no-such-host.invalid") + b({0, 80}));
    CHECK(test::receive(s, 10).at(1) == 0x04);
  }
  auto records = log.wait_for(2);
  REQUIRE(records.size() == 2);
  std::sort(records.begin(), records.end(), [](const auto& x, const auto& y) {
    return x.target.is_domain() < y.target.is_domain();
  });
  CHECK(records[0].method == method::no_auth);
  CHECK(records[0].cmd == command::connect);
  CHECK(records[0].bytes_up == 5);
  CHECK(records[0].bytes_down == 5);
  CHECK(records[0].reply == reply_code::succeeded);
  CHECK(records[0].outcome() == "ok");
  CHECK(records[1].target.domain_name() == "no-such-host.invalid");
  CHECK(records[1].reply == reply_code::host_unreachable);
  CHECK(records[1].outcome() == "refused");
}
