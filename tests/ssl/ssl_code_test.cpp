// The SSL method's code: IANA's X'06' and the draft's X'86', both by default on either side,
// narrowed to one by the `code` option.
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "echo_server.hpp"
#include "proxy.hpp"
#include "run.hpp"
#include "socks5/auth/ssl.hpp"
#include "ssl_sides.hpp"

using namespace socks5;
using asio::ip::tcp;
using test::ssl_client;
using test::ssl_only;
using test::trusting_test_ca;

namespace {

// Sends a raw greeting offering `offered` to the server at `port`; returns its selection.
std::vector<std::uint8_t> select_raw(asio::io_context& ctx, std::uint16_t port,
                                     std::vector<std::uint8_t> offered) {
  std::vector<std::uint8_t> greeting{0x05, static_cast<std::uint8_t>(offered.size())};
  greeting.insert(greeting.end(), offered.begin(), offered.end());
  return test::run(ctx, [&]() -> asio::awaitable<std::vector<std::uint8_t>> {
    tcp::socket s(ctx);
    const tcp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
    auto [connect_ec] = co_await s.async_connect(to, detail::use_tuple);
    if (connect_ec) co_return std::vector<std::uint8_t>{};
    auto [write_ec, written] =
        co_await asio::async_write(s, asio::buffer(greeting), detail::use_tuple);
    if (write_ec) co_return std::vector<std::uint8_t>{};
    std::vector<std::uint8_t> selection(2);
    auto [read_ec, got] = co_await asio::async_read(s, asio::buffer(selection), detail::use_tuple);
    if (read_ec) co_return std::vector<std::uint8_t>{};
    co_return selection;
  }());
}

// Connects with `options` through the proxy at `port` to `target`.
std::error_code connect_error(asio::io_context& ctx, std::uint16_t port, client_options options,
                              const address& target) {
  socks5::client c(ctx.get_executor(), "localhost", port, std::move(options));
  return test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [ec, s] = co_await c.async_connect(target, detail::use_tuple);
    co_return ec;
  }());
}

using bytes = std::vector<std::uint8_t>;

}  // namespace

TEST_CASE("SSL method code: a server with default options accepts X'06' and X'86'") {
  asio::io_context ctx;
  test::proxy proxy(ctx, ssl_only());
  CHECK(select_raw(ctx, proxy.port(), {0x06}) == bytes{0x05, 0x06});
  CHECK(select_raw(ctx, proxy.port(), {0x86}) == bytes{0x05, 0x86});
  // Both offered: the draft's code, first in the server's order.
  CHECK(select_raw(ctx, proxy.port(), {0x06, 0x86}) == bytes{0x05, 0x86});
  CHECK(select_raw(ctx, proxy.port(), {0x00, 0x02}) == bytes{0x05, 0xFF});
}

TEST_CASE("SSL method code: a narrowed server refuses the other code") {
  asio::io_context ctx;
  SslAuth::server_options iana;
  iana.code = method::ssl_iana;
  test::proxy iana_proxy(ctx, ssl_only(iana));
  CHECK(select_raw(ctx, iana_proxy.port(), {0x86}) == bytes{0x05, 0xFF});
  CHECK(select_raw(ctx, iana_proxy.port(), {0x06}) == bytes{0x05, 0x06});
  CHECK(select_raw(ctx, iana_proxy.port(), {0x86, 0x06}) == bytes{0x05, 0x06});

  SslAuth::server_options draft;
  draft.code = method::ssl;
  test::proxy draft_proxy(ctx, ssl_only(draft));
  CHECK(select_raw(ctx, draft_proxy.port(), {0x06}) == bytes{0x05, 0xFF});
  CHECK(select_raw(ctx, draft_proxy.port(), {0x86}) == bytes{0x05, 0x86});
}

TEST_CASE("SSL method code: the client offers X'86' then X'06' in one greeting") {
  const auto ssl = test::ssl_client_method();
  CHECK(ssl.code() == method::ssl);
  CHECK(ssl.codes() == std::vector<method_code>{method::ssl, method::ssl_iana});
  const any_client_auth side(ssl);
  CHECK(side.codes() == std::vector<method_code>{method::ssl, method::ssl_iana});
  REQUIRE(side.as(method::ssl_iana));
  CHECK(side.as(method::ssl_iana)->code() == method::ssl_iana);
  CHECK_FALSE(side.as(method::no_auth));

  // The greeting on the wire, read by a listener that then has nothing to offer.
  asio::io_context ctx;
  tcp::acceptor listener(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  bytes greeting(4);
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto [accept_ec, s] = co_await listener.async_accept(detail::use_tuple);
        if (accept_ec) co_return;
        auto [read_ec, n] = co_await asio::async_read(s, asio::buffer(greeting), detail::use_tuple);
        if (read_ec) co_return;
        const std::array<std::uint8_t, 2> none{0x05, 0xFF};
        co_await asio::async_write(s, asio::buffer(none), detail::use_tuple);
      },
      asio::detached);
  const address where(asio::ip::make_address("127.0.0.1"), 9);
  CHECK(connect_error(ctx, listener.local_endpoint().port(), ssl_client(), where) ==
        errc::no_acceptable_methods);
  CHECK(greeting == bytes{0x05, 0x02, 0x86, 0x06});

  // Narrowed, the client offers one code.
  auto one = trusting_test_ca();
  one.code = method::ssl_iana;
  CHECK(test::ssl_client_method(one).codes() == std::vector<method_code>{method::ssl_iana});
}

TEST_CASE("SSL method code: the default client completes with a server narrowed to either") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  const address where(target.endpoint());
  for (const method_code code : {method::ssl_iana, method::ssl}) {
    CAPTURE(int(code));
    SslAuth::server_options so;
    so.code = code;
    test::proxy proxy(ctx, ssl_only(so));
    CHECK_FALSE(connect_error(ctx, proxy.port(), ssl_client(), where));
  }
}
