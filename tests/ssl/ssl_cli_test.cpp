// socks5-proxy --method ssl and socks5-connect --ssl, as programs.
#include <doctest/doctest.h>

#include "pki.hpp"
#include "threaded.hpp"

using namespace std::chrono_literals;
using test::certs;

namespace {

struct echo_thread {
  echo_thread() : echo(ctx), thread([this] { ctx.run_for(60s); }) {}
  ~echo_thread() {
    ctx.stop();
    thread.join();
  }
  asio::io_context ctx;
  test::echo_server echo;
  std::thread thread;
};

}  // namespace

TEST_CASE(
    "socks5-proxy --method ssl with username/password inside TLS; socks5-connect --ssl through "
    "it") {
  const auto proxy_bin = test::program("SOCKS5_PROXY_BIN");
  const auto connect_bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(proxy_bin);
  REQUIRE(connect_bin);
  test::temp_dir dir;
  echo_thread target;
  const auto users = dir.write("users", "carol:secret\n");
  const auto port = test::free_port();
  test::process proxy({*proxy_bin, "--listen", "127.0.0.1:" + std::to_string(port), "--method",
                       "ssl", "--cert", certs().cert("server"), "--key", certs().key("server"),
                       "--ssl-subauth", "userpass", "--users", users},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(port));
  const auto payload = test::random_payload(500000, 51);
  const auto input = dir.write("input", std::string(payload.begin(), payload.end()));
  const std::vector<std::string> base{*connect_bin, "--proxy", "localhost:" + std::to_string(port),
                                      "--ssl",      "--ca",    certs().cert("ca"),
                                      "--ssl-user", "carol",   "-N"};
  auto args = base;
  args.insert(args.end(), {"127.0.0.1", std::to_string(target.echo.port())});
  test::process good(args, dir / "output", {{"SOCKS5_PASSWORD", "secret"}}, input);
  CHECK(good.wait(60s) == 0);
  CHECK(test::read_file(dir / "output") == test::read_file(input));

  test::process bad(args, dir / "bad-output", {{"SOCKS5_PASSWORD", "wrong"}}, input);
  CHECK(bad.wait(60s) == 1);
  CHECK(bad.output().find("authentication failed") != std::string::npos);

  auto untrusted = base;
  untrusted[5] = certs().cert("other-ca");  // --ca naming a CA that did not sign the proxy
  untrusted.insert(untrusted.end(), {"127.0.0.1", std::to_string(target.echo.port())});
  test::process refused(untrusted, dir / "refused-output", {{"SOCKS5_PASSWORD", "secret"}}, input);
  CHECK(refused.wait(60s) == 1);
  CHECK(refused.output().find("unable to get local issuer certificate") != std::string::npos);

  proxy.kill();
  const auto log = proxy.output();
  INFO(log);
  CHECK(log.find("identity=carol method=ssl cmd=connect") != std::string::npos);
}

TEST_CASE(
    "socks5-proxy --client-ca and --ssl-method-code 0x06; socks5-connect --cert "
    "--ssl-method-code") {
  const auto proxy_bin = test::program("SOCKS5_PROXY_BIN");
  const auto connect_bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(proxy_bin);
  REQUIRE(connect_bin);
  test::temp_dir dir;
  echo_thread target;
  const auto port = test::free_port();
  test::process proxy({*proxy_bin, "--listen", "127.0.0.1:" + std::to_string(port), "--method",
                       "ssl", "--cert", certs().cert("server"), "--key", certs().key("server"),
                       "--client-ca", certs().cert("client-ca"), "--ssl-method-code", "0x06"},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(port));
  const auto input = dir.write("input", "mutual tls\n");
  test::process p(
      {*connect_bin, "--proxy", "localhost:" + std::to_string(port), "--ssl", "--ca",
       certs().cert("ca"), "--cert", certs().cert("alice"), "--key", certs().key("alice"),
       "--ssl-method-code", "0x06", "-N", "127.0.0.1", std::to_string(target.echo.port())},
      dir / "output", {}, input);
  CHECK(p.wait(60s) == 0);
  CHECK(test::read_file(dir / "output") == "mutual tls\n");
  proxy.kill();
  CHECK(proxy.output().find("identity=O=cosocks tests,CN=alice method=ssl") != std::string::npos);
}

TEST_CASE("socks5-proxy --method ssl with a missing key fails at start with a message") {
  const auto proxy_bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(proxy_bin);
  test::temp_dir dir;
  auto [status, out] = test::run_command({*proxy_bin, "--method", "ssl", "--cert",
                                          certs().cert("server"), "--key", dir / "missing.key"},
                                         dir);
  CHECK(status == 2);
  const std::string output = out;
  CHECK(output.find("cannot use the SSL method") != std::string::npos);
}
