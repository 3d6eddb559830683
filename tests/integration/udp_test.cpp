// UDP ASSOCIATE through socks5::server with socks5::client.
#include <doctest/doctest.h>

#include <asio/steady_timer.hpp>

#include "bytes.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/udp.hpp"
#include "udp_echo.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::udp;

namespace {

using association = udp_association<asio::ip::tcp::socket>;

struct exchange {
  std::error_code error;
  std::string reply;
  address from;
};

// Associates, sends `text` to `target`, reads one datagram back.
asio::awaitable<exchange> ping(association& a, address target, std::string text) {
  exchange out;
  auto [send_ec, n] = co_await a.async_send_to(asio::buffer(text), target, detail::use_tuple);
  out.error = send_ec;
  if (send_ec) co_return out;
  std::array<char, 2048> buf;
  auto [ec, got] = co_await a.async_receive_from(asio::buffer(buf), out.from, detail::use_tuple);
  out.error = ec;
  out.reply.assign(buf.data(), got);
  co_return out;
}

association associate(asio::io_context& ctx, const socks5::client& c) {
  auto result = test::run(ctx, [&]() -> asio::awaitable<std::tuple<std::error_code, association>> {
    auto r = co_await c.async_udp_associate(detail::use_tuple);
    co_return r;
  }());
  const std::error_code ec = std::get<0>(result);
  REQUIRE_MESSAGE(!ec, ec.message());
  return std::move(std::get<1>(result));
}

// A proxy on loopback whose session records are kept, and a UDP echo target.
struct logged_relay {
  explicit logged_relay(server_options options = {}) : proxy(ctx, with_log(std::move(options))) {}

  asio::io_context ctx;
  test::udp_echo echo{ctx};
  test::record_log log;
  test::proxy proxy;

 private:
  server_options with_log(server_options options) {
    options.on_session_end = log.hook();
    return options;
  }
};

struct idle_relay : logged_relay {
  static server_options short_idle() {
    server_options options;
    options.idle_timeout = 300ms;
    return options;
  }
  idle_relay() : logged_relay(short_idle()) {}
};

}  // namespace

TEST_CASE_FIXTURE(
    logged_relay,
    "UDP ASSOCIATE: datagrams to an IPv4 address and to a name, answered with their source") {
  {
    auto a = associate(ctx, proxy.client(ctx));
    CHECK(a.relay().address() == asio::ip::make_address("127.0.0.1"));  // never 0.0.0.0
    auto r = test::run(ctx, ping(a, address(echo.endpoint()), "hello"));
    REQUIRE_FALSE(r.error);
    CHECK(r.reply == "hello");
    CHECK(r.from == address(echo.endpoint()));
    auto named = test::run(ctx, ping(a, address("localhost", echo.endpoint().port()), "by name"));
    REQUIRE_FALSE(named.error);
    CHECK(named.reply == "by name");
    CHECK(named.from == address(echo.endpoint()));
  }
  ctx.run_for(200ms);
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].cmd == command::udp_associate);
  CHECK(records[0].datagrams_up == 2);
  CHECK(records[0].datagrams_down == 2);
  CHECK(records[0].bytes_up == 12);
  CHECK(records[0].outcome() == "ok");  // the control connection's end ended it
}

TEST_CASE("UDP ASSOCIATE over IPv6, to an IPv6 target") {
  asio::io_context ctx;
  test::udp_echo echo(ctx, asio::ip::address_v6::loopback());
  test::proxy proxy(ctx, {}, asio::ip::address_v6::loopback());
  auto a = associate(ctx, proxy.client(ctx));
  CHECK(a.relay().address().is_v6());
  auto r = test::run(ctx, ping(a, address(echo.endpoint()), "six"));
  REQUIRE_FALSE(r.error);
  CHECK(r.reply == "six");
  CHECK(r.from.is_ipv6());
}

TEST_CASE_FIXTURE(logged_relay,
                  "UDP ASSOCIATE: a datagram from a foreign source is dropped; FRAG != 0 too") {
  {
    auto a = associate(ctx, proxy.client(ctx));
    // The client speaks first, so the relay knows it.
    REQUIRE_FALSE(test::run(ctx, ping(a, address(echo.endpoint()), "first")).error);
    // A stranger sends a well-formed datagram to the relay: it must not reach the target.
    udp::socket stranger(ctx, {asio::ip::address_v4::loopback(), 0});
    wire::udp_header_buffer header;
    REQUIRE_FALSE(wire::encode(wire::udp_header{0, address(echo.endpoint())}, header));
    std::vector<std::uint8_t> datagram(header.data(), header.data() + header.size());
    datagram.push_back('x');
    stranger.send_to(asio::buffer(datagram), a.relay());
    // The client itself sends a fragment (FRAG 01), which is not supported: dropped.
    std::vector<std::uint8_t> fragment = datagram;
    fragment[2] = 0x01;
    a.socket().send_to(asio::buffer(fragment), a.relay());
    ctx.run_for(300ms);
    CHECK(echo.received() == 1);
  }
  ctx.run_for(200ms);
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].datagrams_dropped == 2);
}

TEST_CASE("UDP ASSOCIATE: when the control connection ends, the relay is gone") {
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  test::proxy proxy(ctx);
  udp::endpoint relay;
  {
    auto a = associate(ctx, proxy.client(ctx));
    relay = a.relay();
    REQUIRE_FALSE(test::run(ctx, ping(a, address(echo.endpoint()), "alive")).error);
  }  // closes the control connection
  ctx.run_for(300ms);
  CHECK(proxy.server.active_sessions() == 0);
  // The relay's port no longer answers: a datagram to it is refused by the kernel.
  udp::socket probe(ctx, {asio::ip::address_v4::loopback(), 0});
  probe.connect(relay);
  wire::udp_header_buffer header;
  REQUIRE_FALSE(wire::encode(wire::udp_header{0, address(echo.endpoint())}, header));
  probe.send(asio::buffer(header.data(), header.size()));
  ctx.run_for(200ms);
  std::array<char, 16> buf;
  std::error_code ec;
  probe.non_blocking(true);
  probe.receive(asio::buffer(buf), 0, ec);
  CHECK(ec == asio::error::connection_refused);
  CHECK(echo.received() == 1);
}

TEST_CASE("UDP ASSOCIATE: the client learns that the association ended") {
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  test::proxy proxy(ctx);
  auto a = associate(ctx, proxy.client(ctx));
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    asio::steady_timer t(ctx, 100ms);
    co_await t.async_wait(asio::use_awaitable);
    proxy.server.stop();
    std::array<char, 16> buf;
    address from;
    auto [e, n] = co_await a.async_receive_from(asio::buffer(buf), from, detail::use_tuple);
    co_return e;
  }());
  CHECK(ec == errc::association_closed);
}

TEST_CASE("UDP ASSOCIATE: 10,000 datagrams each way at a paced rate, none lost") {
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  test::proxy proxy(ctx);
  auto a = associate(ctx, proxy.client(ctx));
  constexpr std::size_t total = 10000, window = 32;
  std::vector<bool> seen(total);
  std::size_t received = 0;
  const address target(echo.endpoint());
  test::run(
      ctx,
      [&]() -> asio::awaitable<bool> {
        std::size_t sent = 0;
        std::array<char, 64> buf;
        // At most `window` datagrams in flight: paced by the echoes coming back.
        while (received < total) {
          while (sent < total && sent - received < window) {
            const std::string text = std::to_string(sent++);
            co_await a.async_send_to(asio::buffer(text), target, asio::use_awaitable);
          }
          address from;
          auto n = co_await a.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
          const auto index = std::stoul(std::string(buf.data(), n));
          if (index < total && !seen[index]) {
            seen[index] = true;
            ++received;
          }
        }
        co_return true;
      }(),
      120s);
  CHECK(received == total);
  CHECK(echo.received() == total);
  CHECK(a.dropped() == 0);
}

TEST_CASE("UDP ASSOCIATE switched off by policy is X'07'") {
  asio::io_context ctx;
  server_options off;
  off.allow_udp = false;
  test::proxy proxy(ctx, off);
  const auto c = proxy.client(ctx);
  auto [ec, a] = test::run(ctx, [&]() -> asio::awaitable<std::tuple<std::error_code, association>> {
    auto r = co_await c.async_udp_associate(detail::use_tuple);
    co_return r;
  }());
  CHECK(ec == errc::command_not_supported);
}

TEST_CASE("UDP ASSOCIATE and BIND with username/password") {
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  server_options options;
  options.methods = {UserPassAuth::server{
      [](std::string_view u, std::string_view p) { return u == "u" && p == "p"; }}};
  test::proxy proxy(ctx, options);
  client_options copts;
  copts.methods = {UserPassAuth::client{"u", "p"}};
  auto a = associate(ctx, proxy.client(ctx, copts));
  auto r = test::run(ctx, ping(a, address(echo.endpoint()), "authenticated"));
  REQUIRE_FALSE(r.error);
  CHECK(r.reply == "authenticated");

  const auto c = proxy.client(ctx, copts);
  const address expected("127.0.0.1", 0);
  auto [ec, listener] = test::run(
      ctx,
      [&]() -> asio::awaitable<std::tuple<std::error_code, bind_listener<asio::ip::tcp::socket>>> {
        auto res = co_await c.async_bind(expected, detail::use_tuple);
        co_return res;
      }());
  REQUIRE_FALSE(ec);
  CHECK(listener.announce().port() != 0);
}

TEST_CASE_FIXTURE(idle_relay, "UDP ASSOCIATE: an idle association ends at the idle timeout") {
  auto a = associate(ctx, proxy.client(ctx));
  REQUIRE_FALSE(test::run(ctx, ping(a, address(echo.endpoint()), "then silence")).error);
  const auto start = std::chrono::steady_clock::now();
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    std::array<char, 16> buf;
    address from;
    auto [e, n] = co_await a.async_receive_from(asio::buffer(buf), from, detail::use_tuple);
    co_return e;
  }());
  CHECK(ec == errc::association_closed);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].error == errc::idle_timeout);
}

TEST_CASE_FIXTURE(
    logged_relay,
    "UDP ASSOCIATE: datagrams for a name that does not resolve are dropped, the rest go on") {
  {
    auto a = associate(ctx, proxy.client(ctx));
    const address nowhere("no-such-host.invalid", 53);
    test::run(ctx, [&]() -> asio::awaitable<bool> {
      for (int i = 0; i < 5; ++i)
        co_await a.async_send_to(asio::buffer(std::string("lost")), nowhere, asio::use_awaitable);
      co_return true;
    }());
    ctx.run_for(500ms);
    auto r = test::run(ctx, ping(a, address(echo.endpoint()), "still here"));
    REQUIRE_FALSE(r.error);
    CHECK(r.reply == "still here");
  }
  ctx.run_for(200ms);
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].datagrams_dropped == 5);
}
