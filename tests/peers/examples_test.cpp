// The example programs socks5-connect and fetch-url against socks5::server.
#include <doctest/doctest.h>

#include "process.hpp"
#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/bind.hpp"
#include "socks5/udp.hpp"
#include "threaded.hpp"
#include "udp_echo.hpp"

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
  test::process p({*bin, "-N", "--proxy", "127.0.0.1:" + std::to_string(proxy.port()), "127.0.0.1",
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
                       "' -N --proxy 127.0.0.1:" + std::to_string(proxy.port()) + " localhost " +
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

  test::process good({*bin, "-N", "--proxy", proxy_arg, "--user", "carol", "127.0.0.1", echo_port},
                     dir / "good", {{"SOCKS5_PASSWORD", "s3cret"}}, input);
  CHECK(good.wait(30s) == 0);
  CHECK(good.output() == "ping\n");

  test::process bad({*bin, "-N", "--proxy", proxy_arg, "--user", "carol", "127.0.0.1", echo_port},
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

TEST_CASE("socks5-connect --udp: datagrams on a local port reach the target and come back") {
  const auto bin = test::program("SOCKS5_CONNECT_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  test::threaded_proxy proxy;
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  const auto local_port = test::free_port();
  test::process relay({*bin, "--proxy", "127.0.0.1:" + std::to_string(proxy.port()), "--udp",
                       "--udp-listen", "127.0.0.1:" + std::to_string(local_port), "127.0.0.1",
                       std::to_string(echo.endpoint().port())},
                      dir / "relay.log");
  asio::ip::udp::socket app(ctx, {asio::ip::address_v4::loopback(), 0});
  const asio::ip::udp::endpoint to(asio::ip::address_v4::loopback(), local_port);
  // The relay starts up in its own time: ask until it answers.
  std::string answer;
  for (int attempt = 0; attempt < 50 && answer.empty(); ++attempt) {
    app.send_to(asio::buffer(std::string("ping through the cli")), to);
    std::array<char, 64> buf;
    asio::ip::udp::endpoint from;
    app.async_receive_from(asio::buffer(buf), from, [&](std::error_code ec, std::size_t n) {
      if (!ec) answer.assign(buf.data(), n);
    });
    ctx.run_for(100ms);
    ctx.restart();
    app.cancel();
    ctx.run_for(10ms);
    ctx.restart();
  }
  CHECK(answer == "ping through the cli");
  relay.kill();
  CHECK(relay.output().find("relaying UDP on 127.0.0.1:" + std::to_string(local_port)) !=
        std::string::npos);
}

TEST_CASE(
    "socks5-proxy --no-bind, --no-udp, --udp-advertise; UDP sessions logged with datagram counts") {
  const auto bin = test::program("SOCKS5_PROXY_BIN");
  REQUIRE(bin);
  test::temp_dir dir;
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  auto start_proxy = [&](std::vector<std::string> extra, const std::string& log) {
    const auto port = test::free_port();
    std::vector<std::string> argv{*bin, "--listen", "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<test::process>(argv, dir / log);
    REQUIRE(test::wait_for_port(port));
    return std::make_pair(port, std::move(p));
  };
  auto udp_error = [&](std::uint16_t port, asio::ip::udp::endpoint* relay) {
    socks5::client c(ctx.get_executor(), "127.0.0.1", port);
    return test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
      auto [ec, a] = co_await c.async_udp_associate(detail::use_tuple);
      if (!ec && relay) *relay = a.relay();
      if (!ec) {
        const std::string text = "logged";
        co_await a.async_send_to(asio::buffer(text), address(echo.endpoint()), asio::use_awaitable);
        std::array<char, 16> buf;
        address from;
        co_await a.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
      }
      co_return ec;
    }());
  };
  {
    auto [port, proxy] = start_proxy({"--no-udp", "--no-bind"}, "off.log");
    CHECK(udp_error(port, nullptr) == errc::command_not_supported);
    socks5::client c(ctx.get_executor(), "127.0.0.1", port);
    const address expected("127.0.0.1", 0);
    auto bind_ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
      auto [ec, l] = co_await c.async_bind(expected, detail::use_tuple);
      co_return ec;
    }());
    CHECK(bind_ec == errc::command_not_supported);
  }
  {
    auto [port, proxy] = start_proxy({}, "on.log");
    CHECK_FALSE(udp_error(port, nullptr));
    proxy->kill();
    CHECK(proxy->output().find("cmd=udp") != std::string::npos);
    CHECK(proxy->output().find("datagrams=1/1 dropped=0") != std::string::npos);
  }
  {
    // Behind NAT the client must be told the outside address; here only the reply can show it.
    auto [port, proxy] = start_proxy({"--udp-advertise", "192.0.2.7"}, "advertise.log");
    socks5::client c(ctx.get_executor(), "127.0.0.1", port);
    auto relay = test::run(ctx, [&]() -> asio::awaitable<asio::ip::udp::endpoint> {
      auto a = co_await c.async_udp_associate(asio::use_awaitable);
      co_return a.relay();
    }());
    CHECK(relay.address() == asio::ip::make_address("192.0.2.7"));
  }
}
