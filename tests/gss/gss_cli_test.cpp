// socks5-proxy --method gssapi and socks5-connect --gssapi with a real KDC.
#include <doctest/doctest.h>

#include "gss_sides.hpp"
#include "kdc.hpp"
#include "socks5/auth/gssapi.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;

TEST_CASE(
    "socks5-proxy --method gssapi: an MIT client authenticates; the log names the principal") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  const auto peer = test::program("RFC1961_PEER");
  REQUIRE(bin);
  REQUIRE(peer);
  auto& realm = test::realm();
  asio::io_context ctx;
  test::echo_server echo(ctx);
  std::thread echo_thread([&] { ctx.run_for(60s); });
  const auto port = test::free_port();
  test::process proxy({*bin, "--listen", "127.0.0.1:" + std::to_string(port), "--method", "gssapi",
                       "--keytab", realm.server_keytab(), "--gss-levels", "2"},
                      realm.dir() / "proxy-gss.log");
  REQUIRE(test::wait_for_port(port));
  auto [status, out] = test::run_command(
      {"/usr/bin/python3", *peer, "client", "--proxy", "localhost:" + std::to_string(port),
       "--target", "127.0.0.1:" + std::to_string(echo.port()), "--level", "2", "--bytes", "200000"},
      realm.dir(), 60s, {{"KRB5CCNAME", realm.alice_ccache()}});
  const std::string output = out;
  INFO(output);
  CHECK(status == 0);
  // Level 1 is not offered by this proxy: the client asking for it is answered 2 and gives up.
  auto [refused, refused_out] = test::run_command(
      {"/usr/bin/python3", *peer, "client", "--proxy", "localhost:" + std::to_string(port),
       "--target", "127.0.0.1:" + std::to_string(echo.port()), "--level", "1"},
      realm.dir(), 60s, {{"KRB5CCNAME", realm.alice_ccache()}});
  CHECK(refused == 4);
  proxy.kill();
  ctx.stop();
  echo_thread.join();
  const auto log = proxy.output();
  INFO(log);
  CHECK(log.find("identity=alice@TEST.SOCKS method=gssapi cmd=connect") != std::string::npos);
}

TEST_CASE("socks5-proxy --method gssapi with a missing keytab fails at start with a message") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  auto [status, out] = test::run_command(
      {*bin, "--method", "gssapi", "--keytab", test::realm().dir() / "missing.keytab"},
      test::realm().dir());
  CHECK(status == 2);
  const std::string output = out;
  CHECK(output.find("cannot use GSS-API with keytab") != std::string::npos);
}

TEST_CASE("socks5-connect --gssapi: through a GSS-API proxy at level 2, and level 1 by option") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  auto& realm = test::realm();
  server_options options;
  options.methods = {test::gss_server()};
  test::threaded_proxy proxy(options);
  const auto payload = test::random_payload(300000, 41);
  const auto input =
      realm.dir().write("connect-input", std::string(payload.begin(), payload.end()));
  for (const char* levels : {"2", "1"}) {
    INFO("levels " << levels);
    const auto output_file = realm.dir() / (std::string("connect-output-") + levels);
    test::process p({*bin, "--half-close", "--proxy", "localhost:" + std::to_string(proxy.port()),
                     "--gssapi", "--ccache", realm.alice_ccache(), "--gss-levels", levels,
                     "127.0.0.1", std::to_string(proxy.echo_endpoint().port())},
                    output_file, {}, input);
    CHECK(p.wait(60s) == 0);
    CHECK(test::read_file(output_file) == test::read_file(input));
  }
}
