// socks5::async_connect with every kind of completion token, cancelled by timers and slots,
// and chained through two proxies.
#include <doctest/doctest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>

#include "echo_server.hpp"
#include "proxy.hpp"
#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

// A "proxy" that accepts and never says a word.
struct silent_proxy {
  explicit silent_proxy(asio::io_context& ctx)
      : acceptor(ctx, {asio::ip::address_v4::loopback(), 0}) {
    acceptor.async_accept([this](std::error_code ec, tcp::socket s) {
      if (!ec) held = std::move(s);
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  tcp::acceptor acceptor;
  std::optional<tcp::socket> held;
};

}  // namespace

TEST_CASE("use_awaitable: success returns the stream, failure throws system_error with the errc") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::proxy proxy(ctx);
  auto c = proxy.client(ctx);
  auto ok = [&]() -> asio::awaitable<bool> {
    auto s = co_await c.async_connect(address(target.endpoint()), asio::use_awaitable);
    co_return s.next_layer().is_open();
  };
  CHECK(test::run(ctx, ok()));

  auto failing = [&]() -> asio::awaitable<std::error_code> {
    try {
      co_await c.async_connect(address("no-such-host.invalid", 1), asio::use_awaitable);
    } catch (const std::system_error& e) {
      co_return e.code();
    }
    co_return std::error_code{};
  };
  CHECK(test::run(ctx, failing()) == errc::host_unreachable);
}

TEST_CASE("a plain callback works as the completion token") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::proxy proxy(ctx);
  auto c = proxy.client(ctx);
  std::optional<std::error_code> result;
  bool open = false;
  c.async_connect(address(target.endpoint()), [&](std::error_code ec, stream<tcp::socket> s) {
    result = ec;
    open = s.next_layer().is_open();
  });
  ctx.run_for(5s);
  REQUIRE(result.has_value());
  CHECK_FALSE(*result);
  CHECK(open);
}

TEST_CASE("a timer raced with || cancels a connect to a proxy that never answers") {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context ctx;
  silent_proxy silent(ctx);
  socks5::client c(ctx.get_executor(), "127.0.0.1", silent.port());
  auto race = [&]() -> asio::awaitable<std::size_t> {
    asio::steady_timer timer(ctx, 200ms);
    auto winner = co_await (c.async_connect(address("192.0.2.1", 80), asio::use_awaitable) ||
                            timer.async_wait(asio::use_awaitable));
    co_return winner.index();
  };
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::run(ctx, race(), 10s) == 1);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("a cancellation slot bound to the handler aborts the operation") {
  asio::io_context ctx;
  silent_proxy silent(ctx);
  socks5::client c(ctx.get_executor(), "127.0.0.1", silent.port());
  asio::cancellation_signal signal;
  std::optional<std::error_code> result;
  c.async_connect(
      address("192.0.2.1", 80),
      asio::bind_cancellation_slot(signal.slot(),
                                   [&](std::error_code ec, stream<tcp::socket>) { result = ec; }));
  asio::steady_timer timer(ctx, 200ms);
  timer.async_wait([&](std::error_code) { signal.emit(asio::cancellation_type::terminal); });
  ctx.run_for(5s);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("proxy chaining: a connect through two proxies, the second with username/password") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::proxy first(ctx);
  server_options second_options;
  second_options.methods = {UserPassAuth::server{
      [](std::string_view u, std::string_view p) { return u == "bob" && p == "chain"; }}};
  std::vector<session_record> second_records;
  second_options.on_session_end = [&](const session_record& r) { second_records.push_back(r); };
  test::proxy second(ctx, second_options);

  // Built outside the coroutine: GCC 12 rejects string literals initialising aggregates in one.
  client_options opts;
  opts.methods = {UserPassAuth::client{"bob", "chain"}};
  auto chained = [&]() -> asio::awaitable<test::received> {
    // Client -> first proxy -> second proxy -> target: the second hop runs over the first's stream.
    const auto first_client = first.client(ctx);
    auto hop1 =
        co_await first_client.async_connect(address(second.endpoint()), asio::use_awaitable);
    auto hop2 = co_await async_connect(std::move(hop1), address(target.endpoint()), opts,
                                       asio::use_awaitable);
    static_assert(std::is_same_v<decltype(hop2), stream<stream<tcp::socket>>>);
    const auto data = test::random_payload(200000, 7);
    auto got = co_await test::echo_round_trip(hop2, data);
    co_return got;
  };
  // Assertions stay outside coroutines: GCC 12 miscompiles some of doctest's inside them.
  auto got = test::run(ctx, chained());
  CHECK(got.hash == test::sha256(test::random_payload(200000, 7)));
  CHECK_FALSE(got.error);
  CHECK(got.size == 200000);
  ctx.run_for(200ms);
  REQUIRE(second_records.size() == 1);
  CHECK(second_records[0].identity == "bob");
  // The second proxy saw the first one as its client.
  CHECK(second_records[0].client.address().is_loopback());
}

TEST_CASE("client options: methods are offered in the configured order") {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), 0});
  std::vector<std::uint8_t> greeting(4);
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto sock = co_await acceptor.async_accept(asio::use_awaitable);
        co_await asio::async_read(sock, asio::buffer(greeting), asio::use_awaitable);
        const std::array<std::uint8_t, 2> refuse{0x05, 0xff};
        co_await asio::async_write(sock, asio::buffer(refuse), asio::use_awaitable);
      },
      asio::detached);
  client_options opts;
  opts.methods = {UserPassAuth::client{"u", "p"}, NoAuth::client{}};
  socks5::client c(ctx.get_executor(), "127.0.0.1", acceptor.local_endpoint().port(), opts);
  auto run = [&]() -> asio::awaitable<std::error_code> {
    auto [ec, s] = co_await c.async_connect(address("192.0.2.1", 80), detail::use_tuple);
    co_return ec;
  };
  CHECK(test::run(ctx, run()) == errc::no_acceptable_methods);
  CHECK(greeting == std::vector<std::uint8_t>{0x05, 0x02, 0x02, 0x00});
}

TEST_CASE("a client tells back its executor, proxy and options") {
  asio::io_context ctx;
  client_options opts;
  opts.methods = {UserPassAuth::client{"u", "p"}, NoAuth::client{}};
  const socks5::client c(ctx.get_executor(), "proxy.example", 1080, opts);
  CHECK(c.executor() == asio::any_io_executor(ctx.get_executor()));
  CHECK(c.proxy_host() == "proxy.example");
  CHECK(c.proxy_port() == 1080);
  REQUIRE(c.options().methods.size() == 2);
  CHECK(c.options().methods[0].code() == method::username_password);
  CHECK(c.options().methods[1].code() == method::no_auth);
}
