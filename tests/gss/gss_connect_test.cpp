// GSS-API (RFC 1961) between socks5::client and socks5::server with a real Heimdal KDC.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/auth/gss_protection.hpp"
#include "socks5/auth/gssapi.hpp"
#include "tap.hpp"
#include "transfer.hpp"

using namespace socks5;
using asio::ip::tcp;
using test::gss_client;
using test::gss_server;

namespace {

// A proxy client that dials "localhost", the host part of rcmd/localhost.
socks5::client localhost_client(asio::io_context& ctx, const test::proxy& p, client_options o) {
  return socks5::client(ctx.get_executor(), "localhost", p.port(), std::move(o));
}

}  // namespace

TEST_CASE("GSS-API levels 1 and 2: CONNECT and 10 MiB both ways, identity at the handler") {
  test::realm();
  for (auto level : {gss_level::integrity, gss_level::confidentiality}) {
    INFO("level " << static_cast<int>(level));
    asio::io_context ctx;
    test::echo_server target(ctx);
    test::record_log log;
    std::string seen_identity;
    server_options options;
    options.methods = {gss_server()};
    options.on_session_end = log.hook();
    options.handler = [&](const request_context& rc) -> asio::awaitable<decision> {
      seen_identity = rc.identity;
      co_return decision::allow();
    };
    test::proxy proxy(ctx, options);
    auto c = localhost_client(ctx, proxy, gss_client(level));
    const auto data = test::random_payload(10 * 1024 * 1024, 21);
    auto run = [&]() -> asio::awaitable<test::received> {
      auto s = co_await c.async_connect(address(target.endpoint()), asio::use_awaitable);
      if (!s.is_protected()) throw std::runtime_error("not protected");
      auto got = co_await test::echo_round_trip(s, data);
      co_return got;
    };
    auto got = test::run(ctx, run(), std::chrono::seconds(120));
    CHECK_FALSE(got.error);
    CHECK(got.size == data.size());
    CHECK(got.hash == test::sha256(data));
    CHECK(seen_identity == "alice@TEST.SOCKS");
    auto records = log.wait_for(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].method == method::gssapi);
    CHECK(records[0].identity == "alice@TEST.SOCKS");
    CHECK(records[0].bytes_up == data.size());
  }
}

TEST_CASE("a capture of the wire: plaintext visible at level 1, none of it at level 2") {
  // A payload that is easy to find: one marker repeated.
  const std::string marker = "PLAINTEXT-MARKER-0123456789abcdef";
  std::vector<char> data;
  for (int i = 0; i < 20000; ++i)
    data.insert(data.end(), marker.begin(), marker.end());
  auto contains = [&](const std::vector<std::uint8_t>& wire) {
    return std::search(wire.begin(), wire.end(), marker.begin(), marker.end()) != wire.end();
  };
  for (auto level : {gss_level::integrity, gss_level::confidentiality}) {
    INFO("level " << static_cast<int>(level));
    asio::io_context ctx;
    test::echo_server target(ctx);
    server_options options;
    options.methods = {gss_server()};
    test::proxy proxy(ctx, options);
    test::tap wire(ctx, proxy.endpoint());
    socks5::client c(ctx.get_executor(), "localhost", wire.port(), gss_client(level));
    auto run = [&]() -> asio::awaitable<test::received> {
      auto s = co_await c.async_connect(address(target.endpoint()), asio::use_awaitable);
      auto got = co_await test::echo_round_trip(s, data);
      co_return got;
    };
    auto got = test::run(ctx, run());
    CHECK(got.hash == test::sha256(data));
    CHECK(wire.to_server.size() > data.size());
    CHECK(wire.to_client.size() > data.size());
    // Integrity-only tokens carry the plaintext; confidentiality tokens must not.
    const bool plaintext_seen = contains(wire.to_server) || contains(wire.to_client);
    CHECK(plaintext_seen == (level == gss_level::integrity));
  }
}

TEST_CASE("the service named each way the options allow, on the client and on the server") {
  test::realm();
  // The client's forms: host-based with or without the host, or the Kerberos principal; the
  // server's: any key of its keytab, a host-based name, or the principal.
  const std::vector<std::string> client_names = {"", "rcmd", "rcmd@localhost",
                                                 "rcmd/localhost@TEST.SOCKS"};
  const std::vector<std::string> server_names = {"", "rcmd@localhost", "rcmd/localhost@TEST.SOCKS"};
  for (const auto& server_name : server_names) {
    for (const auto& client_name : client_names) {
      INFO("client service '" << client_name << "', server service '" << server_name << "'");
      asio::io_context ctx;
      test::echo_server target(ctx);
      GssapiAuth::server_options so;
      so.service = server_name;
      server_options options;
      options.methods = {gss_server(so)};
      test::proxy proxy(ctx, options);
      auto co = test::alice();
      co.service = client_name;
      auto c = localhost_client(ctx, proxy, gss_client(co));
      const auto data = test::random_payload(1024, 23);
      auto run = [&]() -> asio::awaitable<test::received> {
        auto s = co_await c.async_connect(address(target.endpoint()), asio::use_awaitable);
        auto got = co_await test::echo_round_trip(s, data);
        co_return got;
      };
      auto got = test::run(ctx, run());
      CHECK_FALSE(got.error);
      CHECK(got.hash == test::sha256(data));
    }
  }
}
