// curl as a real client of socks5::server and of the socks5-proxy program.
#include <doctest/doctest.h>

#include <mutex>

#include "process.hpp"
#include "records.hpp"
#include "socks5/auth/user_pass.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--max-time", "30"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

credential_verifier alice() {
  return [](std::string_view u, std::string_view p) { return u == "alice" && p == "wonderland"; };
}

}  // namespace

TEST_CASE("curl --socks5: local resolution, the proxy sees an IPv4 target") {
  test::temp_dir dir;
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  const auto url = "http://localhost:" + std::to_string(proxy.http_port()) + "/";
  auto [status, out] =
      test::run_command(curl({"--socks5", "127.0.0.1:" + std::to_string(proxy.port()), url}), dir);
  CHECK(status == 0);
  CHECK(out == test::http_greeting);
  auto r = log.last();
  REQUIRE(r);
  CHECK(r->target.is_ipv4());
  CHECK(r->outcome() == "ok");
}

TEST_CASE("curl --socks5-hostname: the proxy resolves the name (ATYP 03)") {
  test::temp_dir dir;
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  const auto url = "http://localhost:" + std::to_string(proxy.http_port()) + "/";
  auto [status, out] = test::run_command(
      curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(proxy.port()), url}), dir);
  CHECK(status == 0);
  CHECK(out == test::http_greeting);
  auto r = log.last();
  REQUIRE(r);
  REQUIRE(r->target.is_domain());
  CHECK(r->target.domain_name() == "localhost");
}

TEST_CASE("curl socks5h://user:pass@: RFC 1929 accepted; a wrong password is refused") {
  test::temp_dir dir;
  test::record_log log;
  server_options options;
  options.methods = {UserPassAuth::server{alice()}};
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  const auto url = "http://localhost:" + std::to_string(proxy.http_port()) + "/";
  const auto port = std::to_string(proxy.port());

  auto [status, out] =
      test::run_command(curl({"-x", "socks5h://alice:wonderland@127.0.0.1:" + port, url}), dir);
  CHECK(status == 0);
  CHECK(out == test::http_greeting);
  auto ok = log.last();
  REQUIRE(ok);
  CHECK(ok->identity == "alice");
  CHECK(ok->method == method::username_password);

  auto [bad_status, bad_out] =
      test::run_command(curl({"-x", "socks5h://alice:guess@127.0.0.1:" + port, url}), dir);
  CHECK(bad_status != 0);
  CHECK(bad_out.find(test::http_greeting) == std::string::npos);
  const std::string bad_text = bad_out;  // clang cannot capture structured bindings
  INFO(bad_text);
  // The second session's record: it may land a moment after curl has exited.
  auto records = log.wait_for(2);
  REQUIRE(records.size() == 2);
  const auto* refused = &records[1];
  CHECK(refused->error == errc::auth_failed);
  CHECK(refused->outcome() == "auth-failed");
}

TEST_CASE("curl without credentials cannot use a proxy that requires them") {
  test::temp_dir dir;
  server_options options;
  options.methods = {UserPassAuth::server{alice()}};
  test::threaded_proxy proxy(options);
  const auto url = "http://localhost:" + std::to_string(proxy.http_port()) + "/";
  auto [status, out] = test::run_command(
      curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(proxy.port()), url}), dir);
  CHECK(status != 0);
  CHECK(out.find(test::http_greeting) == std::string::npos);
}

TEST_CASE("curl: 10 MiB download through the proxy, checked by SHA-256") {
  test::temp_dir dir;
  test::threaded_proxy proxy;
  const std::size_t size = 10 * 1024 * 1024;
  const auto url =
      "http://127.0.0.1:" + std::to_string(proxy.http_port()) + "/bytes/" + std::to_string(size);
  const auto file = dir / "download";
  auto [status, out] = test::run_command(
      curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(proxy.port()), "-o", file, url}),
      dir);
  CHECK(status == 0);
  const auto body = test::read_file(file);
  CHECK(body.size() == size);
  CHECK(test::sha256(std::vector<char>(body.begin(), body.end())) ==
        test::sha256(test::random_payload(size, 5)));
}

TEST_CASE("curl: a failure reply reaches curl as a SOCKS error") {
  test::temp_dir dir;
  test::threaded_proxy proxy;
  auto [status, out] =
      test::run_command(curl({"--socks5-hostname", "127.0.0.1:" + std::to_string(proxy.port()),
                              "http://no-such-host.invalid/"}),
                        dir);
  CHECK(status != 0);
  const std::string out_text = out;  // clang 14 cannot capture bindings
  INFO(out_text);
  // curl 7.88 reports the reply code itself: 04, host unreachable.
  CHECK(out.find("Can't complete SOCKS5 connection to no-such-host.invalid. (4)") !=
        std::string::npos);
}

TEST_CASE("socks5-proxy program: --users requires credentials; curl with them gets through") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::http_server http(target_ctx);
  std::thread target([&] { target_ctx.run_for(30s); });

  const auto users = dir.write("users", "alice:wonderland\n");
  const auto port = test::free_port();
  test::process proxy({*bin, "--listen", "127.0.0.1:" + std::to_string(port), "--users", users},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(port));
  const auto url = "http://localhost:" + std::to_string(http.port()) + "/";
  const auto p = std::to_string(port);

  auto [ok_status, ok_out] =
      test::run_command(curl({"-x", "socks5h://alice:wonderland@127.0.0.1:" + p, url}), dir);
  CHECK(ok_status == 0);
  CHECK(ok_out == test::http_greeting);
  // No-auth is not offered when a users file is given.
  auto [none_status, none_out] =
      test::run_command(curl({"--socks5-hostname", "127.0.0.1:" + p, url}), dir);
  CHECK(none_status != 0);

  proxy.signal(SIGTERM);
  CHECK(proxy.wait(10s) == 0);
  target_ctx.stop();
  target.join();
  const auto log = proxy.output();
  INFO(log);
  CHECK(log.find("identity=alice method=userpass cmd=connect target=localhost:" +
                 std::to_string(http.port()) + " reply=00") != std::string::npos);
  CHECK(log.find("outcome=ok") != std::string::npos);
  CHECK(log.find("method=- cmd=- target=- reply=- up=0 down=0") != std::string::npos);
}

TEST_CASE("socks5-proxy program: several --listen addresses, IPv4 and IPv6") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context target_ctx;
  test::http_server http(target_ctx);
  std::thread target([&] { target_ctx.run_for(30s); });
  const auto port = test::free_port();
  test::process proxy({*bin, "--listen", "[::1]:" + std::to_string(port), "--listen",
                       "127.0.0.1:" + std::to_string(port)},
                      dir / "proxy.log");
  REQUIRE(test::wait_for_port(port));
  const auto url = "http://localhost:" + std::to_string(http.port()) + "/";
  for (const std::string proxy_host : {"127.0.0.1", "[::1]"}) {
    INFO(proxy_host);
    auto [status, out] = test::run_command(
        curl({"--socks5-hostname", proxy_host + ":" + std::to_string(port), url}), dir);
    CHECK(status == 0);
    CHECK(out == test::http_greeting);
  }
  proxy.kill();
  target_ctx.stop();
  target.join();
}

TEST_CASE("socks5-proxy program: with no options it serves 127.0.0.1:1080 without authentication") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  dir.write("hello.txt", "default port works\n");
  // A network namespace of its own: port 1080 is surely free there, whatever runs on this host.
  const std::string script =
      "set -e\n"
      "ip link set lo up\n"
      "cd '" +
      dir.path().string() +
      "'\n"
      "'" +
      *bin +
      "' > proxy.log 2>&1 & proxy=$!\n"
      "python3 -m http.server 8000 --bind 127.0.0.1 > http.log 2>&1 & http=$!\n"
      "for i in $(seq 100); do\n"
      "  if curl -s --max-time 5 --socks5-hostname 127.0.0.1:1080 http://localhost:8000/hello.txt "
      "-o out.txt; then break; fi\n"
      "  sleep 0.1\n"
      "done\n"
      "kill $proxy $http\n"
      "wait $proxy\n";
  auto [status, out] = test::run_command({"unshare", "--net", "sh", "-c", script}, dir);
  const std::string out_text = out;  // clang 14 cannot capture bindings
  INFO(out_text);
  CHECK(status == 0);
  CHECK(test::read_file(dir / "out.txt") == "default port works\n");
  const auto log = test::read_file(dir / "proxy.log");
  INFO(log);
  CHECK(log.find("listening on 127.0.0.1:1080") != std::string::npos);
  CHECK(log.find("method=none cmd=connect target=localhost:8000 reply=00") != std::string::npos);
}

TEST_CASE("socks5-proxy program: --help, and bad options are refused with a message") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  auto [help_status, help] = test::run_command({*bin, "--help"}, dir);
  CHECK(help_status == 0);
  CHECK(help.find("--listen ADDR:PORT") != std::string::npos);
  auto [bad_status, bad] = test::run_command({*bin, "--method", "kerberos"}, dir);
  CHECK(bad_status == 2);
  CHECK(bad.find("unknown method") != std::string::npos);
  auto [nofile_status, nofile] = test::run_command({*bin, "--users", "/nonexistent/users"}, dir);
  CHECK(nofile_status == 2);
  CHECK(nofile.find("cannot use users file") != std::string::npos);
}
