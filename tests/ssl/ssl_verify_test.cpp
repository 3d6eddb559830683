// Certificate verification is on unless switched off by name: the SSL method client checks the
// proxy's chain and name or IP by default, and a server with a client CA checks clients.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "pki.hpp"
#include "proxy.hpp"
#include "run.hpp"
#include "socks5/auth/ssl.hpp"
#include "ssl_sides.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using test::certs;
using test::ssl_client;
using test::ssl_only;
using test::trusting_test_ca;

namespace {

// A self-signed certificate for localhost and 127.0.0.1, made here: nobody vouches for it.
struct self_signed {
  self_signed() {
    auto [status, out] = test::run_command(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1"},
        dir);
    const std::string output = out;
    REQUIRE_MESSAGE(status == 0, output);
  }
  // Server options that present this certificate.
  SslAuth::server_options as_server() const {
    SslAuth::server_options o;
    o.cert_file = cert;
    o.key_file = key;
    return o;
  }
  test::temp_dir dir;
  std::string cert = dir / "self.pem", key = dir / "self.key";
};

// A client left at its defaults trusts the system's store, which may be missing on a bare
// machine: then it refuses to be created at all, which refuses every proxy as surely.
bool system_store_present() {
  std::error_code ec;
  SslAuth::client::create({}, ec);
  if (ec) CHECK(ec == std::errc::no_such_file_or_directory);
  return !ec;
}

// CONNECT through the proxy to an echo target; the error, or none once a message came back.
std::error_code connect_and_ping(asio::io_context& ctx, const test::proxy& proxy,
                                 client_options options, const std::string& host) {
  test::echo_server target(ctx);
  socks5::client c(ctx.get_executor(), host, proxy.port(), std::move(options));
  const address where(target.endpoint());
  return test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [ec, s] = co_await c.async_connect(where, detail::use_tuple);
    if (ec) co_return ec;
    const std::string ping = "ping";
    auto [write_ec, written] = co_await asio::async_write(s, asio::buffer(ping), detail::use_tuple);
    if (write_ec) co_return write_ec;
    std::string back(ping.size(), '\0');
    auto [read_ec, got] = co_await asio::async_read(s, asio::buffer(back), detail::use_tuple);
    if (read_ec) co_return read_ec;
    co_return back == ping ? std::error_code{} : std::make_error_code(std::errc::bad_message);
  }());
}

}  // namespace

TEST_CASE("SSL client defaults: verification on, against the system's trust store") {
  SslAuth::client_options defaults;
  CHECK(defaults.verify);
  CHECK(defaults.pin_sha256.empty());
  asio::io_context ctx;
  test::proxy proxy(ctx, ssl_only());
  // The test CA is in no system store: a client left at its defaults refuses the proxy.
  if (system_store_present()) {
    const auto ec = connect_and_ping(ctx, proxy, ssl_client(defaults), "localhost");
    MESSAGE("defaults: " << ec.message());
    CHECK(std::string(ec.category().name()) == "tls.verify");
    CHECK(ec == condition::auth_failure);
  }
  // Trusting the CA that signed it, the same proxy is accepted.
  CHECK_FALSE(connect_and_ping(ctx, proxy, ssl_client(trusting_test_ca()), "localhost"));
}

TEST_CASE(
    "SSL client: a self-signed proxy certificate is refused unless verification is switched off") {
  self_signed self;
  asio::io_context ctx;
  test::proxy proxy(ctx, ssl_only(self.as_server()));
  const auto ec = connect_and_ping(ctx, proxy, ssl_client(trusting_test_ca()), "localhost");
  MESSAGE("self-signed: " << ec.message());
  CHECK(std::string(ec.category().name()) == "tls.verify");
  CHECK(ec.message() == "self signed certificate");
  // Not by default either (the system store).
  if (system_store_present()) {
    const auto by_default = connect_and_ping(ctx, proxy, ssl_client({}), "localhost");
    CHECK(std::string(by_default.category().name()) == "tls.verify");
  }
  // Switching verification off is a choice made by name, and then it connects.
  SslAuth::client_options unverified;
  unverified.verify = false;
  CHECK_FALSE(connect_and_ping(ctx, proxy, ssl_client(unverified), "localhost"));
}

TEST_CASE("SSL client: the name or IP the client asked for must be in the certificate") {
  asio::io_context ctx;
  // The certificate names localhost and 127.0.0.1; this proxy is reached as 127.0.0.2.
  test::proxy proxy(ctx, ssl_only(), asio::ip::make_address("127.0.0.2"));
  const auto by_ip = connect_and_ping(ctx, proxy, ssl_client(trusting_test_ca()), "127.0.0.2");
  MESSAGE("127.0.0.2: " << by_ip.message());
  CHECK(std::string(by_ip.category().name()) == "tls.verify");
  CHECK(by_ip.message() == "IP address mismatch");
  // A configured server name replaces the host: a name not in the certificate fails.
  auto other_name = trusting_test_ca();
  other_name.server_name = "proxy.example";
  const auto by_name = connect_and_ping(ctx, proxy, ssl_client(other_name), "127.0.0.2");
  CHECK(by_name.message() == "Hostname mismatch");
  // The name that is in it passes.
  auto right_name = trusting_test_ca();
  right_name.server_name = "localhost";
  CHECK_FALSE(connect_and_ping(ctx, proxy, ssl_client(right_name), "127.0.0.2"));
}

TEST_CASE("SSL server with a client CA: no certificate, or one from another CA, is refused") {
  asio::io_context ctx;
  SslAuth::server_options checks_clients;
  checks_clients.client_ca_file = certs().cert("client-ca");
  test::proxy proxy(ctx, ssl_only(checks_clients));
  auto alice = trusting_test_ca();
  alice.cert_file = certs().cert("alice");
  alice.key_file = certs().key("alice");
  CHECK_FALSE(connect_and_ping(ctx, proxy, ssl_client(alice), "localhost"));
  // A certificate signed by a CA the server does not take for clients.
  auto stranger = trusting_test_ca();
  stranger.cert_file = certs().cert("stranger");
  stranger.key_file = certs().key("stranger");
  const auto wrong_ca = connect_and_ping(ctx, proxy, ssl_client(stranger), "localhost");
  MESSAGE("client certificate from another CA: " << wrong_ca.message());
  CHECK(wrong_ca == condition::auth_failure);
  const auto none = connect_and_ping(ctx, proxy, ssl_client(trusting_test_ca()), "localhost");
  CHECK(none == condition::auth_failure);
}

TEST_CASE("socks5-proxy --client-ca refuses socks5-connect without a client certificate") {
  const auto proxy_bin = test::program("SOCKS5_PROXY_BIN");
  const auto connect_bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(proxy_bin);
  REQUIRE(connect_bin);
  test::temp_dir dir;
  test::threaded_proxy target_host;  // only for its echo target
  const auto port = test::free_port();
  test::process proxy({*proxy_bin, "--listen", "127.0.0.1:" + std::to_string(port), "--method",
                       "ssl", "--cert", certs().cert("server"), "--key", certs().key("server"),
                       "--client-ca", certs().cert("client-ca")},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(port));
  const auto input = dir.write("input", "no certificate\n");
  const std::vector<std::string> base{*connect_bin, "--proxy", "localhost:" + std::to_string(port),
                                      "--ssl",      "--ca",    certs().cert("ca"),
                                      "-N"};
  const std::vector<std::string> target{"127.0.0.1",
                                        std::to_string(target_host.echo_endpoint().port())};
  auto without = base;
  without.insert(without.end(), target.begin(), target.end());
  test::process refused(without, dir / "refused", {}, input);
  CHECK(refused.wait(60s) == 1);
  CHECK(test::read_file(dir / "refused").find("no certificate\n") == std::string::npos);
  auto with = base;
  with.insert(with.end(), {"--cert", certs().cert("alice"), "--key", certs().key("alice")});
  with.insert(with.end(), target.begin(), target.end());
  test::process accepted(with, dir / "accepted", {}, input);
  CHECK(accepted.wait(60s) == 0);
  CHECK(test::read_file(dir / "accepted") == "no certificate\n");
}
