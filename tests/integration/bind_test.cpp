// BIND through socks5::server with socks5::client: both replies, the relay, the rules.
#include <doctest/doctest.h>

#include <asio/detached.hpp>

#include "bytes.hpp"
#include "echo_server.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/bind.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

// A peer that connects to `where` from `from_ip` and echoes.
asio::awaitable<void> peer_echo(tcp::endpoint where, asio::ip::address from_ip) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  s.open(where.protocol());
  s.bind({from_ip, 0});
  co_await s.async_connect(where, asio::use_awaitable);
  std::vector<char> buf(65536);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), detail::use_tuple);
    if (ec) {
      s.shutdown(tcp::socket::shutdown_send);
      co_return;
    }
    co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
  }
}

struct bind_outcome {
  std::error_code error;
  address announced, peer;
  test::received echoed;
};

bind_outcome bind_and_echo(asio::io_context& ctx, const test::proxy& proxy, address expected,
                           std::vector<asio::ip::address> peers_from, std::size_t size = 100000) {
  const auto c = proxy.client(ctx);
  const auto data = test::random_payload(size, 61);
  return test::run(ctx, [&]() -> asio::awaitable<bind_outcome> {
    bind_outcome out;
    auto [ec, listener] = co_await c.async_bind(expected, detail::use_tuple);
    out.error = ec;
    if (ec) co_return out;
    out.announced = listener.announce();
    // Tell the peer(s) where to connect, as FTP's PORT command would.
    for (const auto& ip : peers_from)
      asio::co_spawn(ctx, peer_echo(out.announced.tcp_endpoint(), ip), asio::detached);
    auto [accept_ec, s] = co_await listener.async_accept(out.peer, detail::use_tuple);
    out.error = accept_ec;
    if (accept_ec) co_return out;
    out.echoed = co_await test::echo_round_trip(s, data);
    co_return out;
  }());
}

}  // namespace

TEST_CASE("BIND: the first reply names where to connect, the second the peer; then a relay") {
  asio::io_context ctx;
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::proxy proxy(ctx, options);
  auto r =
      bind_and_echo(ctx, proxy, address("127.0.0.1", 0), {asio::ip::make_address("127.0.0.1")});
  REQUIRE_FALSE(r.error);
  CHECK(r.announced.ip() == asio::ip::make_address("127.0.0.1"));
  CHECK(r.announced.port() != 0);
  CHECK(r.peer.ip() == asio::ip::make_address("127.0.0.1"));
  CHECK(r.echoed.size == 100000);
  CHECK(r.echoed.hash == test::sha256(test::random_payload(100000, 61)));
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].cmd == command::bind);
  REQUIRE(records[0].peer);
  CHECK(records[0].peer->ip() == asio::ip::make_address("127.0.0.1"));
}

TEST_CASE("BIND: only the peer the request names gets in; another is turned away") {
  asio::io_context ctx;
  test::proxy proxy(ctx);
  // The stranger (127.0.0.3) connects first and is closed; the expected peer (127.0.0.2) follows.
  auto r =
      bind_and_echo(ctx, proxy, address("127.0.0.2", 0),
                    {asio::ip::make_address("127.0.0.3"), asio::ip::make_address("127.0.0.2")});
  REQUIRE_FALSE(r.error);
  CHECK(r.peer.ip() == asio::ip::make_address("127.0.0.2"));
  CHECK(r.echoed.hash == test::sha256(test::random_payload(100000, 61)));
}

TEST_CASE("BIND: a peer that never comes gets the client X'06' at the timeout") {
  asio::io_context ctx;
  server_options options;
  options.bind_timeout = 300ms;
  test::proxy proxy(ctx, options);
  const auto start = std::chrono::steady_clock::now();
  auto r = bind_and_echo(ctx, proxy, address("127.0.0.1", 0), {});
  CHECK(r.error == errc::ttl_expired);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("BIND: IPv6, and switched off by policy") {
  asio::io_context ctx;
  test::proxy v6(ctx, {}, asio::ip::address_v6::loopback());
  auto r = bind_and_echo(ctx, v6, address("::1", 0), {asio::ip::address_v6::loopback()}, 1000);
  REQUIRE_FALSE(r.error);
  CHECK(r.announced.is_ipv6());
  CHECK(r.echoed.size == 1000);

  server_options off;
  off.allow_bind = false;
  test::proxy proxy(ctx, off);
  CHECK(bind_and_echo(ctx, proxy, address("127.0.0.1", 0), {}).error ==
        errc::command_not_supported);
}

TEST_CASE("BIND: the client leaving while the proxy waits ends the session at once") {
  asio::io_context ctx;
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::proxy proxy(ctx, options);
  const auto c = proxy.client(ctx);
  const address expected("127.0.0.1", 0);
  test::run(ctx, [&]() -> asio::awaitable<bool> {
    auto listener = co_await c.async_bind(expected, asio::use_awaitable);
    co_return true;  // the listener, and its control connection, go away here
  }());
  const auto start = std::chrono::steady_clock::now();
  ctx.run_for(500ms);
  auto records = log.wait_for(1, 2s);
  REQUIRE(records.size() == 1);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("BIND: a peer named by its host name; a name that does not resolve gets X'04'") {
  asio::io_context ctx;
  test::proxy proxy(ctx);
  // "localhost" stands for 127.0.0.1: the stranger (127.0.0.3) is turned away, the peer gets in.
  auto r =
      bind_and_echo(ctx, proxy, address("localhost", 0),
                    {asio::ip::make_address("127.0.0.3"), asio::ip::make_address("127.0.0.1")});
  REQUIRE_FALSE(r.error);
  CHECK(r.peer.ip() == asio::ip::make_address("127.0.0.1"));
  CHECK(r.echoed.hash == test::sha256(test::random_payload(100000, 61)));

  CHECK(bind_and_echo(ctx, proxy, address("no-such-host.invalid", 0), {}).error ==
        errc::host_unreachable);
}

TEST_CASE("BIND client: a first reply of 0.0.0.0 stands for the proxy's own address") {
  // A proxy that answers BIND with an unspecified BND.ADDR, as RFC 1928 allows for "the address
  // the client reached me at"; then names the peer in its second reply.
  asio::io_context ctx;
  tcp::acceptor proxy_listener(ctx, {asio::ip::address_v4::loopback(), 0});
  test::bytes greeting(3), request(10);
  auto scripted_proxy = [&]() -> asio::awaitable<void> {
    auto s = co_await proxy_listener.async_accept(asio::use_awaitable);
    co_await asio::async_read(s, asio::buffer(greeting), asio::use_awaitable);
    const auto selected = test::b({0x05, 0x00});
    co_await asio::async_write(s, asio::buffer(selected), asio::use_awaitable);
    co_await asio::async_read(s, asio::buffer(request), asio::use_awaitable);
    const auto first = test::b({0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x10, 0x92});
    co_await asio::async_write(s, asio::buffer(first), asio::use_awaitable);
    const auto second = test::b({0x05, 0x00, 0x00, 0x01, 127, 0, 0, 9, 0x15, 0xB3});
    co_await asio::async_write(s, asio::buffer(second), asio::use_awaitable);
  };
  asio::co_spawn(ctx, scripted_proxy(), asio::detached);
  socks5::client c(ctx.get_executor(), "127.0.0.1", proxy_listener.local_endpoint().port());
  address announced, peer;
  const auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [bind_ec, listener] = co_await c.async_bind(address("127.0.0.1", 0), detail::use_tuple);
    if (bind_ec) co_return bind_ec;
    announced = listener.announce();
    auto [accept_ec, s] = co_await listener.async_accept(peer, detail::use_tuple);
    co_return accept_ec;
  }());
  REQUIRE_FALSE(ec);
  CHECK(greeting == test::b({0x05, 0x01, 0x00}));
  CHECK(request == test::b({0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, 0, 0}));
  CHECK(announced.ip() == asio::ip::make_address("127.0.0.1"));
  CHECK(announced.port() == 0x1092);
  CHECK(peer.ip() == asio::ip::make_address("127.0.0.9"));
  CHECK(peer.port() == 0x15B3);
}

TEST_CASE(
    "BIND: a configured listen address the host does not have gets X'01', and service goes on") {
  asio::io_context ctx;
  server_options options;
  options.bind_address = asio::ip::make_address("192.0.2.1");  // TEST-NET-1: on no interface
  test::proxy proxy(ctx, options);
  CHECK(bind_and_echo(ctx, proxy, address("127.0.0.1", 0), {}).error == errc::general_failure);
  // The proxy still serves: a CONNECT through it works.
  test::echo_server target(ctx);
  const auto c = proxy.client(ctx);
  const auto data = test::random_payload(1000, 62);
  auto got = test::run(ctx, [&]() -> asio::awaitable<test::received> {
    auto s = co_await c.async_connect(address(target.endpoint()), asio::use_awaitable);
    auto r = co_await test::echo_round_trip(s, data);
    co_return r;
  }());
  CHECK(got.hash == test::sha256(data));
}
