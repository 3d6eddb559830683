// The SSL method between socks5::client and socks5::server over real sockets.
#include <doctest/doctest.h>

#include <asio/detached.hpp>

#include "bind_peer.hpp"
#include "echo_server.hpp"
#include "pki.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/bind.hpp"
#include "socks5/udp.hpp"
#include "ssl_sides.hpp"
#include "tap.hpp"
#include "threaded.hpp"
#include "transfer.hpp"
#include "udp_echo.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::certs;
using test::ssl_client;
using test::ssl_only;
using test::ssl_server;
using test::trusting_test_ca;

namespace {

struct frame_summary {
  std::vector<std::uint8_t> states;
  bool well_formed = true;
};

// The STATEs of the frames in a captured direction, in order.
frame_summary frames_in(const std::vector<std::uint8_t>& wire, std::size_t skip) {
  frame_summary out;
  std::size_t at = skip;
  while (at + 4 <= wire.size()) {
    if (wire[at] != 0x01) {
      out.well_formed = false;
      break;
    }
    out.states.push_back(wire[at + 1]);
    at += 4 + ((wire[at + 2] << 8) | wire[at + 3]);
  }
  if (at != wire.size()) out.well_formed = false;
  return out;
}

std::error_code connect_error(asio::io_context& ctx, std::uint16_t port, client_options options,
                              const address& target, const std::string& host = "localhost") {
  socks5::client c(ctx.get_executor(), host, port, std::move(options));
  return test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [ec, s] = co_await c.async_connect(target, detail::use_tuple);
    co_return ec;
  }());
}

}  // namespace

TEST_CASE("SSL method: 10 MiB both ways, and a capture with STATE 01..04 and no plaintext") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::record_log log;
  auto options = ssl_only();
  options.on_session_end = log.hook();
  test::proxy proxy(ctx, options);
  test::tap wire(ctx, proxy.endpoint());
  socks5::client c(ctx.get_executor(), "localhost", wire.port(), ssl_client());

  std::vector<char> data;
  const std::string marker = "SSL-PLAINTEXT-MARKER-";
  while (data.size() < 10 * 1024 * 1024)
    data.insert(data.end(), marker.begin(), marker.end());
  const address where(target.endpoint());
  auto got = test::run(
      ctx,
      [&]() -> asio::awaitable<test::received> {
        auto s = co_await c.async_connect(where, asio::use_awaitable);
        auto r = co_await test::echo_round_trip(s, data);
        co_return r;
      }(),
      120s);
  CHECK_FALSE(got.error);
  CHECK(got.size == data.size());
  CHECK(got.hash == test::sha256(data));
  ctx.run_for(300ms);

  for (const auto* direction : {&wire.to_server, &wire.to_client}) {
    CHECK(std::search(direction->begin(), direction->end(), marker.begin(), marker.end()) ==
          direction->end());
    // After the 4- or 2-octet method negotiation, nothing but frames.
    const auto f = frames_in(*direction, direction == &wire.to_server ? 4 : 2);
    CHECK(f.well_formed);
    CHECK(std::is_sorted(f.states.begin(), f.states.end()));
    REQUIRE_FALSE(f.states.empty());
    CHECK(f.states.front() == 0x01);
    CHECK(std::find(f.states.begin(), f.states.end(), 0x02) != f.states.end());
    CHECK(std::find(f.states.begin(), f.states.end(), 0x03) != f.states.end());
    CHECK(f.states.back() == 0x04);  // close_notify, both ways
  }
  // Both codes offered, the draft's first; the server prefers it too.
  CHECK(std::vector<std::uint8_t>(wire.to_server.begin(), wire.to_server.begin() + 4) ==
        std::vector<std::uint8_t>{0x05, 0x02, 0x86, 0x06});
  CHECK(std::vector<std::uint8_t>(wire.to_client.begin(), wire.to_client.begin() + 2) ==
        std::vector<std::uint8_t>{0x05, 0x86});
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].method == method::ssl);
  CHECK(records[0].outcome() == "ok");
}

TEST_CASE("SSL method with username/password subauthentication, and with mutual TLS") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  const address where(target.endpoint());
  std::string identity;
  SslAuth::server_options so;
  so.subauth = {UserPassAuth::server{
      [](std::string_view u, std::string_view p) { return u == "bob" && p == "pw"; }}};
  auto options = ssl_only(so);
  options.handler = [&](const request_context& rc) -> asio::awaitable<decision> {
    identity = rc.identity;
    co_return decision::allow();
  };
  test::proxy proxy(ctx, options);
  auto good = trusting_test_ca();
  good.subauth = {UserPassAuth::client{"bob", "pw"}};
  CHECK_FALSE(connect_error(ctx, proxy.port(), ssl_client(good), where));
  CHECK(identity == "bob");
  auto wrong = trusting_test_ca();
  wrong.subauth = {UserPassAuth::client{"bob", "nope"}};
  CHECK(connect_error(ctx, proxy.port(), ssl_client(wrong), where) == errc::auth_failed);

  SslAuth::server_options mutual;
  mutual.client_ca_file = certs().cert("client-ca");
  auto mutual_options = ssl_only(mutual);
  mutual_options.handler = options.handler;
  test::proxy mutual_proxy(ctx, mutual_options);
  auto with_cert = trusting_test_ca();
  with_cert.cert_file = certs().cert("alice");
  with_cert.key_file = certs().key("alice");
  CHECK_FALSE(connect_error(ctx, mutual_proxy.port(), ssl_client(with_cert), where));
  CHECK(identity == "O=cosocks tests,CN=alice");
  const auto no_cert = connect_error(ctx, mutual_proxy.port(), ssl_client(), where);
  MESSAGE("no client certificate: " << no_cert.message());
  CHECK(no_cert == condition::auth_failure);
}

TEST_CASE("certificate checks: wrong CA, expired, host name mismatch, pin") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  const address where(target.endpoint());
  struct variant {
    const char* cert;
    const char* expected;
  };
  for (auto v : {variant{"stranger", "unable to get local issuer certificate"},
                 variant{"expired", "certificate has expired"},
                 variant{"wrong-name", "Hostname mismatch"}}) {
    INFO(std::string(v.cert));
    SslAuth::server_options so;
    so.cert_file = certs().cert(v.cert);
    so.key_file = certs().key(v.cert);
    test::proxy proxy(ctx, ssl_only(so));
    const auto ec = connect_error(ctx, proxy.port(), ssl_client(), where);
    MESSAGE(std::string(v.cert) << ": " << ec.message());
    CHECK(std::string(ec.category().name()) == "tls.verify");
    CHECK(ec.message() == v.expected);
    CHECK(ec == condition::auth_failure);
  }
  // The name checked is the proxy's host: 127.0.0.1 is in the certificate as an IP address.
  test::proxy proxy(ctx, ssl_only());
  CHECK_FALSE(connect_error(ctx, proxy.port(), ssl_client(), where, "127.0.0.1"));
  // A pin replaces the CA: the right one passes without any CA, a wrong one fails.
  SslAuth::client_options pinned;
  pinned.pin_sha256 = certs().sha256("server");
  CHECK_FALSE(connect_error(ctx, proxy.port(), ssl_client(pinned), where));
  pinned.pin_sha256 = certs().sha256("stranger");
  CHECK(connect_error(ctx, proxy.port(), ssl_client(pinned), where) ==
        errc::certificate_pin_mismatch);
  // Verification off, only by explicit choice: a stranger's certificate is then accepted.
  SslAuth::server_options stranger;
  stranger.cert_file = certs().cert("stranger");
  stranger.key_file = certs().key("stranger");
  test::proxy stranger_proxy(ctx, ssl_only(stranger));
  SslAuth::client_options unverified;
  unverified.verify = false;
  CHECK_FALSE(connect_error(ctx, stranger_proxy.port(), ssl_client(unverified), where));
}

TEST_CASE("configuration errors show when the side is created") {
  std::error_code ec;
  SslAuth::server_options missing;
  missing.cert_file = "/nonexistent.pem";
  missing.key_file = "/nonexistent.key";
  SslAuth::server::create(missing, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  SslAuth::server_options mismatched;
  mismatched.cert_file = certs().cert("server");
  mismatched.key_file = certs().key("stranger");
  SslAuth::server::create(mismatched, ec);
  CHECK(std::string(ec.category().name()) == "tls");
  SslAuth::client_options bad_pin;
  bad_pin.pin_sha256 = "abcd";
  SslAuth::client::create(bad_pin, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("no downgrade: a server that requires SSL and a client that requires SSL") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  const address where(target.endpoint());
  // The server offers only SSL: a client without it gets X'FF'.
  test::proxy ssl_proxy(ctx, ssl_only());
  CHECK(connect_error(ctx, ssl_proxy.port(), client_options{}, where) ==
        errc::no_acceptable_methods);
  // The client offers only SSL: a no-auth server has nothing to select.
  test::proxy plain_proxy(ctx);
  CHECK(connect_error(ctx, plain_proxy.port(), ssl_client(), where) == errc::no_acceptable_methods);
  // A server selecting no-auth anyway is refused by the client.
  tcp::acceptor liar(ctx, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto s = co_await liar.async_accept(asio::use_awaitable);
        std::array<std::uint8_t, 3> greeting;
        co_await asio::async_read(s, asio::buffer(greeting), asio::use_awaitable);
        const std::array<std::uint8_t, 2> select{0x05, 0x00};
        co_await asio::async_write(s, asio::buffer(select), asio::use_awaitable);
        std::array<std::uint8_t, 1> rest;
        co_await s.async_read_some(asio::buffer(rest), detail::use_tuple);
      },
      asio::detached);
  CHECK(connect_error(ctx, liar.local_endpoint().port(), ssl_client(), where) ==
        errc::unoffered_method);
}

TEST_CASE("the method code: narrowed to X'06' on both sides, or to X'86' against X'06'") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  const address where(target.endpoint());
  SslAuth::server_options so;
  so.code = method::ssl_iana;
  test::proxy proxy(ctx, ssl_only(so));
  auto co = trusting_test_ca();
  co.code = method::ssl_iana;
  CHECK_FALSE(connect_error(ctx, proxy.port(), ssl_client(co), where));
  // A client narrowed to X'86' against a server answering only to X'06': no common method.
  auto draft = trusting_test_ca();
  draft.code = method::ssl;
  CHECK(connect_error(ctx, proxy.port(), ssl_client(draft), where) == errc::no_acceptable_methods);
  // A server may also list each code as a method of its own.
  SslAuth::server_options draft_server;
  draft_server.code = method::ssl;
  server_options both;
  both.methods = {ssl_server(draft_server), ssl_server(so)};
  test::proxy both_proxy(ctx, both);
  CHECK_FALSE(connect_error(ctx, both_proxy.port(), ssl_client(co), where));
  CHECK_FALSE(connect_error(ctx, both_proxy.port(), ssl_client(draft), where));
}

namespace {

// Negotiates the SSL method and CONNECTs to the echo target, then writes `raw` straight to the
// socket under the TLS stream; returns how the server ended the session.
session_record after_raw_bytes(const std::vector<std::uint8_t>& raw, bool close_instead = false) {
  test::record_log log;
  auto options = ssl_only();
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  asio::io_context ctx;
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
  const address where(proxy.echo_endpoint());
  test::run(ctx, [&]() -> asio::awaitable<bool> {
    auto s = co_await c.async_connect(where, asio::use_awaitable);
    if (close_instead) {
      s.next_layer().close();  // no close_notify, no STATE 04
    } else {
      co_await asio::async_write(s.next_layer(), asio::buffer(raw), asio::use_awaitable);
      std::array<char, 64> sink;
      co_await s.next_layer().async_read_some(asio::buffer(sink), detail::use_tuple);
    }
    co_return true;
  }());
  auto last = log.last(5s);
  REQUIRE(last);
  return *last;
}

}  // namespace

TEST_CASE("the server refuses: TLS garbage in a STATE 03 frame, an unknown STATE, no STATE 04") {
  const auto garbage =
      after_raw_bytes({0x01, 0x03, 0x00, 0x08, 0x17, 0x03, 0x03, 0x00, 0x03, 0xde, 0xad, 0xbf});
  MESSAGE("garbage: " << garbage.error.message());
  CHECK(std::string(garbage.error.category().name()) == "tls");

  const auto unknown = after_raw_bytes({0x01, 0x07, 0x00, 0x00});
  CHECK(unknown.error == errc::bad_state);

  const auto backwards = after_raw_bytes({0x01, 0x01, 0x00, 0x00});
  CHECK(backwards.error == errc::bad_state);

  const auto wrong_version = after_raw_bytes({0x02, 0x03, 0x00, 0x00});
  CHECK(wrong_version.error == errc::bad_frame_version);

  const auto cut = after_raw_bytes({}, true);
  CHECK(cut.error == errc::missing_close_notify);
}

TEST_CASE("the client sees a proxy that vanishes without STATE 04 as missing_close_notify") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::proxy proxy(ctx, ssl_only());
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
  const address where(target.endpoint());
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto s = co_await c.async_connect(where, asio::use_awaitable);
    proxy.server.stop();  // closes the session's sockets outright
    std::array<char, 64> buf;
    auto [e, n] = co_await s.async_read_some(asio::buffer(buf), detail::use_tuple);
    co_return e;
  }());
  CHECK(ec == errc::missing_close_notify);
}

TEST_CASE("an SSL session's relay: activity keeps it, the idle timeout ends it, with its record") {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::record_log log;
  auto options = ssl_only();
  options.idle_timeout = 600ms;
  options.on_session_end = log.hook();
  test::proxy proxy(ctx, options);
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
  const address where(target.endpoint());
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto s = co_await c.async_connect(where, asio::use_awaitable);
    asio::steady_timer timer(ctx);
    for (int i = 0; i < 4; ++i) {  // 1.2 s of traffic in total, never 600 ms idle
      timer.expires_after(300ms);
      co_await timer.async_wait(asio::use_awaitable);
      std::array<char, 1> x{'x'};
      co_await asio::async_write(s, asio::buffer(x), asio::use_awaitable);
      std::array<char, 1> back{};
      co_await asio::async_read(s, asio::buffer(back), asio::use_awaitable);
      CHECK(back[0] == 'x');
    }
    std::array<char, 64> buf;
    auto [e, n] = co_await s.async_read_some(asio::buffer(buf), detail::use_tuple);
    // The session ends once its relay does, which finishes it from a completion handler.
    for (int i = 0; i < 300 && log.wait_for(1, 0ms).empty(); ++i) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return e;
  }());
  CHECK(ec == errc::missing_close_notify);  // closed outright, as on stop()
  auto records = log.wait_for(1, 0ms);
  REQUIRE(records.size() == 1);
  CHECK(records[0].error == errc::idle_timeout);
  CHECK(records[0].bytes_up == 4);
  CHECK(records[0].bytes_down == 4);
}

TEST_CASE("UDP under the SSL method: with UDP-Naked plain datagrams; without it no UDP at all") {
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  test::proxy proxy(ctx, ssl_only());
  const address target(echo.endpoint());
  using association = udp_association<tcp::socket>;

  auto naked = trusting_test_ca();
  naked.udp_naked = true;
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(), ssl_client(naked));
  auto reply = test::run(ctx, [&]() -> asio::awaitable<std::string> {
    auto a = co_await c.async_udp_associate(asio::use_awaitable);
    const std::string text = "naked datagram";
    co_await a.async_send_to(asio::buffer(text), target, asio::use_awaitable);
    std::array<char, 64> buf;
    address from;
    auto n = co_await a.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
    co_return std::string(buf.data(), n);
  }());
  CHECK(reply == "naked datagram");

  // Without UDP-Naked the client does not even ask.
  socks5::client plain(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
  auto [ec, a] = test::run(ctx, [&]() -> asio::awaitable<std::tuple<std::error_code, association>> {
    auto r = co_await plain.async_udp_associate(detail::use_tuple);
    co_return r;
  }());
  CHECK(ec == errc::udp_unavailable);

  // And a client that asks anyway is answered X'07' by the server.
  auto refused = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    tcp::socket s(ctx);
    co_await s.async_connect(proxy.endpoint(), asio::use_awaitable);
    auto opts = ssl_client();
    opts.proxy_host = "localhost";
    auto [e, stream, rep] =
        co_await detail::request_through(std::move(s), command::udp_associate, address{}, opts);
    co_return e;
  }());
  CHECK(refused == errc::command_not_supported);

  // A server that does not agree to UDP-Naked: the client that offered it gets no UDP either.
  SslAuth::server_options no_udp;
  no_udp.udp_naked = false;
  test::proxy strict(ctx, ssl_only(no_udp));
  socks5::client asks(ctx.get_executor(), "localhost", strict.port(), ssl_client(naked));
  auto [strict_ec, none] =
      test::run(ctx, [&]() -> asio::awaitable<std::tuple<std::error_code, association>> {
        auto r = co_await asks.async_udp_associate(detail::use_tuple);
        co_return r;
      }());
  CHECK(strict_ec == errc::udp_unavailable);
}

TEST_CASE("BIND under the SSL method") {
  asio::io_context ctx;
  test::proxy proxy(ctx, ssl_only());
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(), ssl_client());
  auto heard = test::run(ctx, test::bind_and_hear(c, address("127.0.0.1", 0), "peer over tls"));
  REQUIRE_MESSAGE(!heard.error, heard.error.message());
  CHECK(heard.text == "peer over tls");
  CHECK(heard.peer.ip() == asio::ip::make_address("127.0.0.1"));
}
