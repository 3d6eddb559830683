// The SSL method with a peer that vanishes in the middle of the TLS handshake: the client's
// ClientHello cut short, or the server's first flight cut short. Each side ends with a clear
// error at once, the server's session ends cleanly with its record, nothing is left open, and
// the same server then serves a full SSL-method CONNECT.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "fault_tap.hpp"
#include "faults.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "socks5/auth/ssl.hpp"
#include "ssl_sides.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using test::ssl_client;
using test::ssl_only;

namespace {

struct cut_outcome {
  std::error_code client;
  clock_type::duration took{};
  session_record server;
};

// One SSL-method CONNECT through a tap that cuts as `rules` say; then a normal CONNECT with data
// through the same server; no descriptor left behind.
cut_outcome cut_handshake(const test::tap_rules& rules) {
  cut_outcome out;
  const auto fds_before = test::open_fds();
  {
    asio::io_context ctx;
    test::echo_server target(ctx);
    test::record_log log;
    auto options = ssl_only();
    options.on_session_end = log.hook();
    test::proxy proxy(ctx, options);
    test::fault_tap tap(ctx, proxy.endpoint(), rules);

    socks5::client through_tap(ctx.get_executor(), "localhost", tap.port(), ssl_client());
    const address where(target.endpoint());
    const auto start = clock_type::now();
    out.client = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
      auto [e, s] = co_await through_tap.async_connect(where, detail::use_tuple);
      co_return e;
    }());
    out.took = clock_type::now() - start;
    CHECK(tap.cut());

    REQUIRE(test::run_until(ctx, [&] { return !log.wait_for(1, 0ms).empty(); }));
    out.server = log.wait_for(1, 0ms).front();
    socks5::client direct(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
    test::check_serves_echo(ctx, direct, target.endpoint());
    CHECK(test::run_until(ctx, [&] { return proxy.server.active_sessions() == 0; }));
  }
  CHECK(test::open_fds() == fds_before);
  return out;
}

}  // namespace

TEST_CASE("the client vanishes in the middle of its ClientHello: the server ends the session") {
  test::tap_rules rules;
  rules.cut_up = 3 + 4 + 40;  // greeting, the STATE 01 frame's header, 40 octets of TLS
  const auto r = cut_handshake(rules);
  MESSAGE("server: " << r.server.error.message() << "; client: " << r.client.message());
  CHECK(r.server.method == method::ssl);
  CHECK_FALSE(r.server.reply);
  CHECK(r.server.error == asio::error::eof);
  CHECK(r.client == asio::error::eof);
  CHECK(r.took < 10s);
}

TEST_CASE("the server vanishes in the middle of its first flight: the client is told at once") {
  test::tap_rules rules;
  rules.cut_down = 2 + 4 + 40;  // method selection, the STATE 01 frame's header, 40 octets
  const auto r = cut_handshake(rules);
  MESSAGE("server: " << r.server.error.message() << "; client: " << r.client.message());
  // As with every handshake message: the connection ended before the frame did.
  CHECK(r.client == asio::error::eof);
  CHECK(r.took < 10s);
  CHECK(r.server.method == method::ssl);
  CHECK_FALSE(r.server.reply);
  CHECK(r.server.error == asio::error::eof);
}
