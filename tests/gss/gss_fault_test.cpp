// GSS-API faults with a real KDC: the KDC down or silent when the client needs a service
// ticket, a ticket that expires before the server sees it, a client that stalls mid-token.
// Each gives a clear error within its timeout, and the same server then serves a GSS-API client
// with data echoed intact.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "fault_tap.hpp"
#include "faults.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "socks5/auth/gssapi.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using test::alice;
using test::gss_client;

namespace {

// A proxy that requires GSS-API, its records, and an echo target, on one io_context.
struct gss_fixture {
  explicit gss_fixture(std::chrono::milliseconds handshake_timeout = 30s) {
    server_options options;
    options.methods = {test::gss_server()};
    options.handshake_timeout = handshake_timeout;
    options.on_session_end = log.hook();
    proxy.emplace(ctx, options);
  }

  // The proxy's host must be "localhost": the service is rcmd@localhost.
  socks5::client client(GssapiAuth::client_options o, std::uint16_t port = 0) {
    return socks5::client(ctx.get_executor(), "localhost", port ? port : proxy->port(),
                          gss_client(std::move(o)));
  }

  session_record nth_record(std::size_t n) {
    const bool came = test::run_until(ctx, [&] { return log.wait_for(n + 1, 0ms).size() > n; });
    REQUIRE(came);
    return log.wait_for(n + 1, 0ms).at(n);
  }

  // A GSS-API client with alice's ticket: CONNECT and echo through the same server.
  void check_serves() { test::check_serves_echo(ctx, client(alice()), target.endpoint()); }

  asio::io_context ctx;
  test::echo_server target{ctx};
  test::record_log log;
  std::optional<test::proxy> proxy;
};

struct timed_error {
  std::error_code error;
  clock_type::duration took{};
};

timed_error timed_connect(asio::io_context& ctx, const socks5::client& c, address target) {
  const auto start = clock_type::now();
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [e, s] = co_await c.async_connect(target, detail::use_tuple);
    co_return e;
  }());
  return {ec, clock_type::now() - start};
}

bool from_gss(const std::error_code& ec) {
  return std::string(ec.category().name()).rfind("gssapi", 0) == 0;
}

}  // namespace

TEST_CASE("KDC stopped after kinit: the client fails clearly, the server serves the next one") {
  auto& realm = test::realm();
  gss_fixture f;
  auto o = alice();
  // A ticket-granting ticket only: the service ticket must come from the KDC.
  o.ccache = realm.kinit("alice", realm.alice_keytab(), "fault-tgt-only.cc");
  realm.stop();
  const auto r = timed_connect(f.ctx, f.client(o), address(f.target.endpoint()));
  realm.start();
  MESSAGE("client: " << r.error.message());
  CHECK(r.error == condition::auth_failure);
  CHECK(from_gss(r.error));
  CHECK(r.error.message().find("KDC") != std::string::npos);
  CHECK(r.took < 20s);  // kdc_timeout 2 s, max_retries 1 in the realm's krb5.conf

  // The server only saw a client that went away after the method selection.
  const auto record = f.nth_record(0);
  CHECK(record.method == method::gssapi);
  CHECK_FALSE(record.reply);
  CHECK(record.error == asio::error::eof);
  f.check_serves();
}

TEST_CASE(
    "a KDC that never answers: the client gives up within the KDC timeout, the server at "
    "its handshake deadline") {
  auto& realm = test::realm();
  gss_fixture f(1s);
  auto o = alice();
  o.ccache = realm.kinit("alice", realm.alice_keytab(), "fault-silent-kdc.cc");
  realm.stop();
  timed_error r;
  {
    // Bound, listening, never read: requests are taken in over UDP and TCP and never answered.
    asio::io_context silent;
    asio::ip::udp::socket udp(silent, {asio::ip::address_v4::loopback(), realm.port()});
    tcp::acceptor tcp_listener(silent, {asio::ip::address_v4::loopback(), realm.port()});
    r = timed_connect(f.ctx, f.client(o), address(f.target.endpoint()));
  }
  realm.start();
  MESSAGE("client: " << r.error.message());
  CHECK(r.error == condition::auth_failure);
  CHECK(from_gss(r.error));
  CHECK(r.error.message().find("KDC") != std::string::npos);
  CHECK(r.took < 30s);

  // Meanwhile the server waited for the first token only until its handshake deadline.
  const auto record = f.nth_record(0);
  CHECK(record.error == errc::handshake_timeout);
  CHECK(record.duration < 1s + 5s);
  f.check_serves();
}

TEST_CASE(
    "a client that stalls mid-token is closed at the handshake deadline; the next is served") {
  gss_fixture f(1s);
  const auto proxy_endpoint = f.proxy->endpoint();
  const auto start = clock_type::now();
  const auto end = test::run(f.ctx, [&]() -> asio::awaitable<std::error_code> {
    tcp::socket s(f.ctx);
    auto [connect_ec] = co_await s.async_connect(proxy_endpoint, detail::use_tuple);
    REQUIRE_FALSE(connect_ec);
    const std::array<std::uint8_t, 3> greeting{0x05, 0x01, 0x01};
    auto [greet_ec, g] = co_await asio::async_write(s, asio::buffer(greeting), detail::use_tuple);
    std::array<std::uint8_t, 2> selection{};
    auto [select_ec, n] = co_await asio::async_read(s, asio::buffer(selection), detail::use_tuple);
    CHECK_FALSE(greet_ec);
    CHECK_FALSE(select_ec);
    CHECK(selection == std::array<std::uint8_t, 2>{0x05, 0x01});
    // A token frame that says 300 octets and brings 3.
    const std::array<std::uint8_t, 7> part{0x01, 0x01, 0x01, 0x2c, 0x60, 0x82, 0x01};
    auto [part_ec, p] = co_await asio::async_write(s, asio::buffer(part), detail::use_tuple);
    CHECK_FALSE(part_ec);
    std::array<std::uint8_t, 1> more{};
    auto [end_ec, m] = co_await s.async_read_some(asio::buffer(more), detail::use_tuple);
    co_return end_ec;
  }());
  // Closed without a word: the client never finished its token.
  CHECK(end == asio::error::eof);
  CHECK(clock_type::now() - start < 1s + 5s);
  const auto record = f.nth_record(0);
  CHECK(record.error == errc::handshake_timeout);
  CHECK(record.outcome() == "timeout");
  f.check_serves();
}

TEST_CASE("a ticket that expires before its token reaches the server: the server rejects it") {
  auto& realm = test::realm();
  gss_fixture f;
  auto o = alice();
  o.ccache = realm.kinit("alice", realm.alice_keytab(), "fault-short-lived.cc", "3s");
  // The client's first token waits in the tap until the ticket has expired and the realm's
  // clock skew allowance (2 s) has passed too.
  test::tap_rules rules;
  rules.hold_up = 3;  // the greeting passes
  rules.release = clock_type::now() + 3s + 2s + 2s;
  test::fault_tap tap(f.ctx, f.proxy->endpoint(), rules);
  const auto r = timed_connect(f.ctx, f.client(o, tap.port()), address(f.target.endpoint()));
  // The server answers 01 FF and closes.
  MESSAGE("client: " << r.error.message());
  CHECK(r.error == errc::peer_aborted);
  CHECK(r.error == condition::auth_failure);
  CHECK(r.took < 7s + 10s);

  const auto record = f.nth_record(0);
  MESSAGE("server: " << record.error.message());
  CHECK(from_gss(record.error));
  CHECK(record.error == condition::auth_failure);
  CHECK(record.error.message().find("xpired") != std::string::npos);
  CHECK(record.outcome() == "auth-failed");
  f.check_serves();
}
