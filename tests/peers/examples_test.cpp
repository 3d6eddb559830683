// The example programs socks5-connect and fetch-url against socks5::server.
#include <doctest/doctest.h>

#include "process.hpp"
#include "socks5/auth/user_pass.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;

namespace {

std::string payload_file(const test::temp_dir& dir, std::size_t size) {
  const auto data = test::random_payload(size, 11);
  return dir.write("input", std::string(data.begin(), data.end()));
}

}  // namespace

TEST_CASE("socks5-connect: stdin from a file and stdout to a file, through an echo target") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  test::threaded_proxy proxy;
  const auto input = payload_file(dir, 1024 * 1024);
  test::process p({*bin, "--proxy", "127.0.0.1:" + std::to_string(proxy.port()), "127.0.0.1",
                   std::to_string(proxy.echo_endpoint().port())},
                  dir / "output", {}, input);
  CHECK(p.wait(30s) == 0);
  CHECK(test::read_file(dir / "output") == test::read_file(input));
}

TEST_CASE("socks5-connect: through pipes, as an ssh ProxyCommand uses it") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  test::threaded_proxy proxy;
  const auto input = payload_file(dir, 300000);
  const auto command = "cat '" + input + "' | '" + *bin +
                       "' --proxy 127.0.0.1:" + std::to_string(proxy.port()) + " localhost " +
                       std::to_string(proxy.echo_endpoint().port()) + " | cat > '" +
                       (dir / "output") + "'";
  auto [status, out] = test::run_command({"sh", "-c", command}, dir);
  const std::string out_text = out;  // clang 14 cannot capture bindings
  INFO(out_text);
  CHECK(status == 0);
  CHECK(test::read_file(dir / "output") == test::read_file(input));
}

TEST_CASE(
    "socks5-connect: username/password from the environment; failures exit 1 with a message") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  server_options options;
  options.methods = {UserPassAuth::server{
      [](std::string_view u, std::string_view p) { return u == "carol" && p == "s3cret"; }}};
  test::threaded_proxy proxy(options);
  const auto input = dir.write("input", "ping\n");
  const auto proxy_arg = "127.0.0.1:" + std::to_string(proxy.port());
  const auto echo_port = std::to_string(proxy.echo_endpoint().port());

  test::process good({*bin, "--proxy", proxy_arg, "--user", "carol", "127.0.0.1", echo_port},
                     dir / "good", {{"SOCKS5_PASSWORD", "s3cret"}}, input);
  CHECK(good.wait(30s) == 0);
  CHECK(good.output() == "ping\n");

  test::process bad({*bin, "--proxy", proxy_arg, "--user", "carol", "127.0.0.1", echo_port},
                    dir / "bad", {{"SOCKS5_PASSWORD", "wrong"}}, input);
  CHECK(bad.wait(30s) == 1);
  CHECK(bad.output().find("authentication failed") != std::string::npos);

  auto [usage_status, usage] = test::run_command({*bin, "only-host"}, dir);
  CHECK(usage_status == 2);
  CHECK(usage.find("expected HOST PORT") != std::string::npos);
}

TEST_CASE("fetch-url: a coroutine GET through the proxy") {
  const auto bin = test::program("FETCH_URL_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  test::threaded_proxy proxy;
  auto [status, out] =
      test::run_command({*bin, "--proxy", "127.0.0.1:" + std::to_string(proxy.port()),
                         "http://localhost:" + std::to_string(proxy.http_port()) + "/"},
                        dir);
  CHECK(status == 0);
  CHECK(out.find("HTTP/1.0 200 OK") == 0);
  CHECK(out.find(test::http_greeting) != std::string::npos);
}
