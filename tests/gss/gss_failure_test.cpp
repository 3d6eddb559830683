// GSS-API failures with a real KDC: each ends with its own clear error, promptly, on both sides.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "gss_sides.hpp"
#include "kdc.hpp"
#include "proxy.hpp"
#include "records.hpp"
#include "run.hpp"
#include "socks5/auth/gssapi.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::alice;
using test::b;
using test::bytes;
using test::gss_server;

namespace {

struct outcome {
  std::error_code client;
  std::optional<session_record> server;
  std::chrono::steady_clock::duration took{};
};

// One connect from a GSS-API client to a GSS-API server; what each side ended with.
outcome attempt(GssapiAuth::client_options client_side, GssapiAuth::server server_side) {
  asio::io_context ctx;
  test::echo_server target(ctx);
  test::record_log log;
  server_options options;
  options.methods = {std::move(server_side)};
  options.on_session_end = log.hook();
  test::proxy proxy(ctx, options);
  socks5::client c(ctx.get_executor(), "localhost", proxy.port(),
                   test::gss_client(std::move(client_side)));
  const address where(target.endpoint());
  const auto start = std::chrono::steady_clock::now();
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [e, s] = co_await c.async_connect(where, detail::use_tuple);
    co_return e;
  }());
  outcome o;
  o.client = ec;
  o.took = std::chrono::steady_clock::now() - start;
  ctx.run_for(200ms);
  o.server = log.last(2s);
  return o;
}

}  // namespace

TEST_CASE("unknown service principal: the client says the KDC does not know it") {
  auto o = alice();
  o.service = "nosuch@localhost";
  auto r = attempt(o, gss_server());
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == condition::auth_failure);
  CHECK(std::string(r.client.category().name()).rfind("gssapi", 0) == 0);
  CHECK(r.client.message().find("not found") != std::string::npos);
  CHECK(r.took < 10s);
}

TEST_CASE("wrong or missing keytab: refused when the server is configured") {
  std::error_code ec;
  GssapiAuth::server_options missing;
  missing.keytab = test::realm().dir() / "no-such.keytab";
  GssapiAuth::server::create(missing, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);

  GssapiAuth::server_options wrong;
  wrong.keytab = test::realm().alice_keytab();  // holds alice's key, not the service's
  wrong.service = "rcmd/localhost@TEST.SOCKS";
  GssapiAuth::server::create(wrong, ec);
  CHECK(ec == errc::credentials_unavailable);
  CHECK(ec == condition::auth_failure);

  GssapiAuth::server_options empty;
  empty.keytab = test::realm().dir().write("empty.keytab", "");
  GssapiAuth::server::create(empty, ec);
  CHECK(ec);
}

TEST_CASE("a keytab without the service's key: the server aborts with 01 FF, the client is told") {
  GssapiAuth::server_options wrong;
  wrong.keytab = test::realm().alice_keytab();  // any principal in it: but not rcmd/localhost
  auto r = attempt(alice(), gss_server(wrong));
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == errc::peer_aborted);
  REQUIRE(r.server);
  MESSAGE("server: " << r.server->error.message());
  CHECK(r.server->error == condition::auth_failure);
  CHECK(r.took < 10s);
}

TEST_CASE("a level the server cannot give, chosen by its own answer hook, is an abort") {
  // answer() picks level 0, which this server does not allow: it aborts rather than send it.
  GssapiAuth::server_options so;
  so.answer = [](gss_level) { return gss_level::clear; };
  auto r = attempt(alice(), gss_server(so));
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == errc::peer_aborted);
  REQUIRE(r.server);
  CHECK(r.server->error == errc::protection_level_rejected);
  CHECK(r.took < 10s);
}

TEST_CASE("no ticket: an empty credentials cache") {
  auto o = alice();
  o.ccache = "FILE:" + (test::realm().dir() / "empty.cc");
  auto r = attempt(o, gss_server());
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == errc::credentials_unavailable);
  CHECK(r.client == condition::auth_failure);
  CHECK(r.took < 10s);
}

TEST_CASE("expired ticket") {
  auto& realm = test::realm();
  auto o = alice();
  o.ccache = realm.kinit("alice", realm.alice_keytab(), "short.cc", "2s");
  std::this_thread::sleep_for(3s);
  auto r = attempt(o, gss_server());
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == errc::credentials_expired);
  CHECK(r.client == condition::auth_failure);
  CHECK(r.took < 10s);
}

TEST_CASE("the client demands level 2, the server allows only 1") {
  GssapiAuth::server_options only_integrity;
  only_integrity.levels = {gss_level::integrity};
  auto o = alice();
  o.levels = {gss_level::confidentiality};
  auto r = attempt(o, gss_server(only_integrity));
  CHECK(r.client == errc::protection_level_rejected);
  CHECK(r.took < 10s);
  // With level 1 acceptable too, the same server is fine.
  o.levels = {gss_level::confidentiality, gss_level::integrity};
  CHECK_FALSE(attempt(o, gss_server(only_integrity)).client);
}

TEST_CASE("level 0 only by explicit option: refused by default, allowed when enabled") {
  auto o = alice();
  o.levels = {gss_level::clear};
  CHECK(attempt(o, gss_server()).client == errc::protection_level_rejected);
  GssapiAuth::server_options clear;
  clear.allow_clear = true;
  CHECK_FALSE(attempt(o, gss_server(clear)).client);
}

TEST_CASE("NEC mode on both sides works; one side only fails cleanly") {
  auto o = alice();
  o.nec = true;
  GssapiAuth::server_options nec;
  nec.nec = true;
  CHECK_FALSE(attempt(o, gss_server(nec)).client);
  auto mismatch = attempt(o, gss_server());
  CHECK(mismatch.client);
  CHECK(mismatch.took < 10s);
}

TEST_CASE("KDC unreachable: a clear error within the KDC timeout") {
  auto& realm = test::realm();
  auto o = alice();
  // A ticket-granting ticket only: the service ticket must come from the KDC.
  o.ccache = realm.kinit("alice", realm.alice_keytab(), "tgt-only.cc");
  realm.stop();
  auto r = attempt(o, gss_server());
  realm.start();
  MESSAGE("client: " << r.client.message());
  CHECK(r.client == condition::auth_failure);
  CHECK(r.client.message().find("KDC") != std::string::npos);
  CHECK(r.took < 20s);
}

TEST_CASE("raw peer: a bad MTYP gets 01 FF and the connection closed") {
  server_options options;
  options.methods = {gss_server()};
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x01}));
  CHECK(test::receive(s, 2) == b({0x05, 0x01}));
  test::send(s, b({0x01, 0x07, 0x00, 0x01, 0x00}));
  CHECK(test::receive(s, 2) == b({0x01, 0xff}));
  CHECK(test::closed_by_peer(s));
}

TEST_CASE("raw peer: LEN beyond the data ends in the handshake deadline, not a hang") {
  server_options options;
  options.methods = {gss_server()};
  options.handshake_timeout = 1s;
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x01}));
  CHECK(test::receive(s, 2) == b({0x05, 0x01}));
  test::send(s, b({0x01, 0x01, 0x01, 0x00, 0xaa, 0xbb}));  // says 256 octets, sends 2
  const auto start = std::chrono::steady_clock::now();
  CHECK(test::closed_by_peer(s, 5s));
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("raw peer: a garbage token gets 01 FF; a zero-length token too") {
  server_options options;
  options.methods = {gss_server()};
  test::threaded_proxy proxy(options);
  for (const bytes& message : {b({0x01, 0x01, 0x00, 0x03, 1, 2, 3}), b({0x01, 0x01, 0x00, 0x00})}) {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x01}));
    CHECK(test::receive(s, 2) == b({0x05, 0x01}));
    test::send(s, message);
    CHECK(test::receive(s, 2) == b({0x01, 0xff}));
    CHECK(test::closed_by_peer(s));
  }
}

namespace {

// A fake server that selects GSS-API, reads the client's first token, then says `answer`.
std::error_code client_against(const bytes& answer, bool close_after = true) {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto sock = co_await acceptor.async_accept(asio::use_awaitable);
        std::array<std::uint8_t, 3> greeting;
        co_await asio::async_read(sock, asio::buffer(greeting), asio::use_awaitable);
        const std::array<std::uint8_t, 2> select{0x05, 0x01};
        co_await asio::async_write(sock, asio::buffer(select), asio::use_awaitable);
        std::array<std::uint8_t, 4> head;
        co_await asio::async_read(sock, asio::buffer(head), asio::use_awaitable);
        std::vector<std::uint8_t> token((head[2] << 8) | head[3]);
        co_await asio::async_read(sock, asio::buffer(token), asio::use_awaitable);
        co_await asio::async_write(sock, asio::buffer(answer), asio::use_awaitable);
        if (!close_after) {
          asio::steady_timer wait(ctx, 30s);
          co_await wait.async_wait(detail::use_tuple);
        }
      },
      asio::detached);
  client_options copts;
  copts.methods = {GssapiAuth::client(alice())};
  socks5::client c(ctx.get_executor(), "localhost", acceptor.local_endpoint().port(), copts);
  const address where("192.0.2.1", 80);
  return test::run(
      ctx,
      [&]() -> asio::awaitable<std::error_code> {
        auto [e, s] = co_await c.async_connect(where, detail::use_tuple);
        co_return e;
      }(),
      20s);
}

}  // namespace

TEST_CASE("client against a broken server: 01 FF, bad MTYP, bad VER, empty token, short frame") {
  CHECK(client_against(b({0x01, 0xff}), false) == errc::peer_aborted);
  CHECK(client_against(b({0x01, 0x05, 0x00, 0x00})) == errc::bad_frame_type);
  CHECK(client_against(b({0x02, 0x01, 0x00, 0x00})) == errc::bad_frame_version);
  CHECK(client_against(b({0x01, 0x01, 0x00, 0x00}), false) == errc::empty_token);
  CHECK(client_against(b({0x01, 0x01, 0x00, 0x10, 0x01})) == asio::error::eof);
}
