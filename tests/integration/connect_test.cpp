// CONNECT from socks5::client through socks5::server to an in-process target.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "proxy.hpp"
#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "transfer.hpp"

using namespace socks5;
using asio::ip::tcp;

namespace {

using connect_result = std::tuple<std::error_code, stream<tcp::socket>>;

asio::awaitable<connect_result> connect(const socks5::client& c, address target) {
  auto r = co_await c.async_connect(std::move(target), detail::use_tuple);
  co_return r;
}

credential_verifier users() {
  return [](std::string_view u, std::string_view p) { return u == "alice" && p == "wonderland"; };
}

}  // namespace

TEST_CASE("CONNECT to an IPv4 target and echo data both ways, with half-close") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::proxy proxy(ctx);

  auto [ec, s] = test::run(ctx, connect(proxy.client(ctx), address(target.endpoint())));
  REQUIRE_FALSE(ec);
  CHECK_FALSE(s.is_protected());
  const auto data = test::random_payload(100000);
  auto got = test::run(ctx, test::echo_round_trip(s, data));
  CHECK_FALSE(got.error);
  CHECK(got.size == data.size());
  CHECK(got.hash == test::sha256(data));
}

TEST_CASE("CONNECT by host name: resolved by the proxy, or locally when asked") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  std::vector<session_record> records;
  server_options options;
  options.on_session_end = [&](const session_record& r) { records.push_back(r); };
  test::proxy proxy(ctx, options);

  for (auto mode : {resolve_mode::remote, resolve_mode::local}) {
    client_options copts;
    copts.resolution = mode;
    auto [ec, s] =
        test::run(ctx, connect(proxy.client(ctx, copts), address("localhost", target.port())));
    REQUIRE_FALSE(ec);
    const auto data = test::random_payload(1000);
    auto got = test::run(ctx, test::echo_round_trip(s, data));
    CHECK(got.hash == test::sha256(data));
  }
  ctx.run_for(std::chrono::milliseconds(200));
  REQUIRE(records.size() == 2);
  // The proxy saw a name the first time and an address the second.
  CHECK(records[0].target.is_domain());
  CHECK_FALSE(records[1].target.is_domain());
  CHECK(records[0].outcome() == "ok");
  CHECK(records[0].bytes_up == 1000);
  CHECK(records[0].bytes_down == 1000);
}

TEST_CASE("IPv6: proxy on ::1, target on ::1") {
  asio::io_context ctx;
  const auto v6 = asio::ip::address_v6::loopback();
  test::echo_server target(ctx, v6);
  test::proxy proxy(ctx, {}, v6);
  auto [ec, s] = test::run(ctx, connect(proxy.client(ctx), address(target.endpoint())));
  REQUIRE_FALSE(ec);
  CHECK(s.next_layer().remote_endpoint().address().is_v6());
  const auto data = test::random_payload(50000);
  auto got = test::run(ctx, test::echo_round_trip(s, data));
  CHECK(got.hash == test::sha256(data));
}

TEST_CASE("10 MiB both ways through the relay, checked by SHA-256") {
  // Both ways of moving the data: splice(2) through a pipe, and a buffer lent while in flight.
  for (const bool splice : {true, false}) {
    INFO("splice " << splice);
    asio::io_context ctx;
    test::echo_server target(ctx);
    server_options options;
    options.relay_splice = splice;
    test::proxy proxy(ctx, options);
    auto connected = test::run(ctx, connect(proxy.client(ctx), address(target.endpoint())));
    REQUIRE_FALSE(std::get<0>(connected));
    const auto data = test::random_payload(10 * 1024 * 1024, 42);
    auto got = test::run(ctx, test::echo_round_trip(std::get<1>(connected), data));
    CHECK_FALSE(got.error);
    CHECK(got.size == data.size());
    CHECK(got.hash == test::sha256(data));
  }
}

TEST_CASE("username/password: accepted, identity reaches the handler; wrong password refused") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  std::string seen_identity;
  server_options options;
  options.methods = {UserPassAuth::server{users()}};
  options.handler = [&](const request_context& rc) -> asio::awaitable<decision> {
    seen_identity = rc.identity;
    CHECK(rc.method == method::username_password);
    co_return decision::allow();
  };
  test::proxy proxy(ctx, options);

  client_options good;
  good.methods = {UserPassAuth::client{"alice", "wonderland"}};
  auto [ec, s] = test::run(ctx, connect(proxy.client(ctx, good), address(target.endpoint())));
  REQUIRE_FALSE(ec);
  CHECK(seen_identity == "alice");

  client_options bad;
  bad.methods = {UserPassAuth::client{"alice", "guess"}};
  auto [bad_ec, bad_s] =
      test::run(ctx, connect(proxy.client(ctx, bad), address(target.endpoint())));
  CHECK(bad_ec == errc::auth_failed);
  CHECK(bad_ec == condition::auth_failure);
}

TEST_CASE("method selection follows the server's policy; nothing acceptable is X'FF'") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  server_options options;
  options.methods = {UserPassAuth::server{users()}};
  test::proxy proxy(ctx, options);

  // The client prefers no-auth, but the server requires username/password.
  client_options both;
  both.methods = {NoAuth::client{}, UserPassAuth::client{"alice", "wonderland"}};
  auto [ec, s] = test::run(ctx, connect(proxy.client(ctx, both), address(target.endpoint())));
  CHECK_FALSE(ec);

  client_options none_only;
  auto [ec2, s2] =
      test::run(ctx, connect(proxy.client(ctx, none_only), address(target.endpoint())));
  CHECK(ec2 == errc::no_acceptable_methods);
}

TEST_CASE("the client refuses a method it did not offer") {
  asio::io_context ctx;
  // A fake proxy that selects username/password whatever was offered.
  tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto sock = co_await acceptor.async_accept(asio::use_awaitable);
        std::array<std::uint8_t, 3> greeting;
        co_await asio::async_read(sock, asio::buffer(greeting), asio::use_awaitable);
        const std::array<std::uint8_t, 2> select{0x05, 0x02};
        co_await asio::async_write(sock, asio::buffer(select), asio::use_awaitable);
        std::array<std::uint8_t, 1> more;
        co_await sock.async_read_some(asio::buffer(more), detail::use_tuple);
      },
      asio::detached);
  socks5::client c(ctx.get_executor(), "127.0.0.1", acceptor.local_endpoint().port());
  auto [ec, s] = test::run(ctx, connect(c, address("192.0.2.1", 80)));
  CHECK(ec == errc::unoffered_method);
}

TEST_CASE("a name that cannot be encoded fails before anything is sent") {
  asio::io_context ctx;
  test::proxy proxy(ctx);
  auto [ec, s] =
      test::run(ctx, connect(proxy.client(ctx), address::domain(std::string(256, 'a'), 80)));
  CHECK(ec == errc::domain_name_too_long);
  ctx.run_for(std::chrono::milliseconds(100));
  CHECK(proxy.server.total_sessions() == 1);
}
