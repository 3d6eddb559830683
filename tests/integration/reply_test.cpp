// Every reply code, produced for real where loopback allows and by the handler otherwise, seen
// both on the wire and through socks5::client.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "faults.hpp"
#include "proxy.hpp"
#include "run.hpp"
#include "threaded.hpp"

using namespace socks5;
using asio::ip::tcp;
using test::b;
using test::bytes;
using test::operator+;

namespace {

asio::awaitable<std::error_code> connect_error(const socks5::client& c, address target) {
  auto [ec, s] = co_await c.async_connect(std::move(target), detail::use_tuple);
  co_return ec;
}

// Greets with no-auth, sends `request`, returns the reply's first two octets.
bytes raw_exchange(test::threaded_proxy& proxy, const bytes& request) {
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x00}));
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, request);
  auto reply = test::receive(s, 10);
  // On a failure reply the server closes.
  if (reply.size() >= 2 && reply[1] != 0) CHECK(test::closed_by_peer(s));
  return reply;
}

}  // namespace

TEST_CASE("handler denials: the client sees each code 01-08 as its errc") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  for (int code = 1; code <= 8; ++code) {
    server_options options;
    options.handler = [code](const request_context&) -> asio::awaitable<decision> {
      co_return decision::deny(static_cast<reply_code>(code));
    };
    test::proxy proxy(ctx, options);
    const auto ec = test::run(ctx, connect_error(proxy.client(ctx), address(target.endpoint())));
    INFO("code " << code);
    CHECK(ec.category() == socks5_category());
    CHECK(ec.value() == code);
    CHECK(ec == condition::rejected_by_proxy);
  }
}

namespace {

// A failure reply within `limit`, then a CONNECT with data through the same server.
void check_refusal_then_service(asio::io_context& ctx, test::proxy& proxy, address target,
                                errc expected, std::chrono::milliseconds limit) {
  test::echo_server echo(ctx);
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::run(ctx, connect_error(proxy.client(ctx), std::move(target))) == expected);
  CHECK(std::chrono::steady_clock::now() - start < limit);
  test::check_serves_echo(ctx, proxy.client(ctx), echo.endpoint());
}

}  // namespace

TEST_CASE("05 connection refused: nothing listens on the target port") {
  asio::io_context ctx;
  tcp::acceptor closed(ctx, {asio::ip::address_v4::loopback(), 0});
  const auto port = closed.local_endpoint().port();
  closed.close();
  server_options options;
  options.connect_timeout = std::chrono::seconds(2);
  test::proxy proxy(ctx, options);
  check_refusal_then_service(ctx, proxy, address("127.0.0.1", port), errc::connection_refused,
                             options.connect_timeout + std::chrono::seconds(5));
  // By name too: every address "localhost" has is tried, and the last refusal answered.
  check_refusal_then_service(ctx, proxy, address("localhost", port), errc::connection_refused,
                             options.connect_timeout + std::chrono::seconds(5));
}

TEST_CASE("04 host unreachable: the name does not resolve") {
  asio::io_context ctx;
  server_options options;
  options.connect_timeout = std::chrono::seconds(2);
  test::proxy proxy(ctx, options);
  check_refusal_then_service(ctx, proxy, address("no-such-host.invalid", 80),
                             errc::host_unreachable,
                             options.connect_timeout + std::chrono::seconds(5));
}

TEST_CASE("06 TTL expired: the target never completes the connection") {
  asio::io_context ctx;
  // A listener whose accept queue is full drops further SYNs, so connecting hangs.
  tcp::acceptor full(ctx);
  full.open(tcp::v4());
  full.bind({asio::ip::address_v4::loopback(), 0});
  full.listen(0);
  tcp::socket queued(ctx);
  queued.connect(full.local_endpoint());

  server_options options;
  options.connect_timeout = std::chrono::milliseconds(300);
  test::proxy proxy(ctx, options);
  check_refusal_then_service(ctx, proxy, address(full.local_endpoint()), errc::ttl_expired,
                             options.connect_timeout + std::chrono::seconds(5));
}

TEST_CASE("on the wire: success reply carries the upstream's local address") {
  test::threaded_proxy proxy;
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x00}));
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, test::connect_request(proxy.echo_endpoint()));
  const auto reply = test::receive(s, 10);
  REQUIRE(reply.size() == 10);
  CHECK(bytes(reply.begin(), reply.begin() + 8) == b({0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1}));
  CHECK(((reply[8] << 8) | reply[9]) != 0);
  // The relay is live.
  test::send(s, test::text("ping"));
  CHECK(test::receive(s, 4) == test::text("ping"));
}

TEST_CASE("on the wire: unknown command gets 07, unknown address type 08, then close") {
  test::threaded_proxy proxy;
  CHECK(raw_exchange(proxy, test::connect_request(proxy.echo_endpoint(), 0x04)) ==
        b({0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  CHECK(raw_exchange(proxy, b({0x05, 0x01, 0x00, 0x05, 1, 2, 3, 4, 0, 80})) ==
        b({0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  CHECK(raw_exchange(proxy, b({0x05, 0x01, 0x00, 0x03, 0x00, 0, 80})) ==
        b({0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE("on the wire: a bad greeting is closed without a reply; no common method is X'FF'") {
  test::threaded_proxy proxy;
  {
    auto s = proxy.connect();
    test::send(s, b({0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0}));  // SOCKS 4
    CHECK(test::receive(s, 2).empty());
  }
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x00}));  // NMETHODS 0
    CHECK(test::receive(s, 2).empty());
  }
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x02, 0x01, 0x02}));  // GSS-API and username: not configured here
    CHECK(test::receive(s, 2) == b({0x05, 0xff}));
    CHECK(test::closed_by_peer(s));
  }
}

TEST_CASE("on the wire: greeting, request and data sent at once are all served") {
  test::threaded_proxy proxy;
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x00}) + test::connect_request(proxy.echo_endpoint()) +
                    test::text("early"));
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  CHECK(test::receive(s, 10).size() == 10);
  CHECK(test::receive(s, 5) == test::text("early"));
}
