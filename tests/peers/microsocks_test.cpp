// socks5::client through microsocks, a real third-party server.
#include <doctest/doctest.h>

#include "echo_server.hpp"
#include "process.hpp"
#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/client.hpp"
#include "transfer.hpp"

using namespace socks5;
using namespace std::chrono_literals;

namespace {

struct microsocks {
  explicit microsocks(const test::temp_dir& dir, std::vector<std::string> extra = {})
      : port(test::free_port()), proc(args(port, std::move(extra)), dir / "microsocks.log") {
    REQUIRE(test::wait_for_port(port));
  }
  static std::vector<std::string> args(std::uint16_t port, std::vector<std::string> extra) {
    std::vector<std::string> a = {"microsocks", "-i", "127.0.0.1", "-p", std::to_string(port)};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::uint16_t port;
  test::process proc;
};

// microsocks closes both directions on the first end of stream: no half-close with it.
asio::awaitable<std::tuple<std::error_code, test::received>> connect_and_echo(socks5::client c,
                                                                              address target,
                                                                              std::size_t size) {
  return test::connect_and_echo(std::move(c), std::move(target), size, 3, test::echo_mode::exact);
}

}  // namespace

TEST_CASE("microsocks without authentication: IPv4 and domain targets, 1 MiB echoed") {
  test::temp_dir dir;
  microsocks peer(dir);
  asio::io_context ctx;
  test::echo_server target(ctx);
  socks5::client c(ctx.get_executor(), "127.0.0.1", peer.port);
  for (auto t : {address(target.endpoint()), address("localhost", target.port())}) {
    INFO(t.to_string());
    auto [ec, got] = test::run(ctx, connect_and_echo(c, t, 1024 * 1024));
    REQUIRE_FALSE(ec);
    CHECK_FALSE(got.error);
    CHECK(got.size == 1024 * 1024);
    CHECK(got.hash == test::sha256(test::random_payload(1024 * 1024, 3)));
  }
}

TEST_CASE("microsocks with username/password: right, wrong, and not offered") {
  test::temp_dir dir;
  microsocks peer(dir, {"-u", "alice", "-P", "wonderland"});
  asio::io_context ctx;
  test::echo_server target(ctx);

  client_options good;
  good.methods = {UserPassAuth::client{"alice", "wonderland"}};
  auto [ec, got] = test::run(
      ctx, connect_and_echo(socks5::client(ctx.get_executor(), "127.0.0.1", peer.port, good),
                            address(target.endpoint()), 100000));
  CHECK_FALSE(ec);
  CHECK(got.hash == test::sha256(test::random_payload(100000, 3)));

  client_options wrong;
  wrong.methods = {UserPassAuth::client{"alice", "guess"}};
  auto [wrong_ec, wrong_got] = test::run(
      ctx, connect_and_echo(socks5::client(ctx.get_executor(), "127.0.0.1", peer.port, wrong),
                            address(target.endpoint()), 10));
  CHECK(wrong_ec == errc::auth_failed);

  auto [none_ec, none_got] =
      test::run(ctx, connect_and_echo(socks5::client(ctx.get_executor(), "127.0.0.1", peer.port),
                                      address(target.endpoint()), 10));
  CHECK(none_ec == errc::no_acceptable_methods);
}

TEST_CASE("microsocks: a refused target comes back as a reply code") {
  test::temp_dir dir;
  microsocks peer(dir);
  asio::io_context ctx;
  asio::ip::tcp::acceptor closed(ctx, {asio::ip::address_v4::loopback(), 0});
  const auto port = closed.local_endpoint().port();
  closed.close();
  auto [ec, got] =
      test::run(ctx, connect_and_echo(socks5::client(ctx.get_executor(), "127.0.0.1", peer.port),
                                      address("127.0.0.1", port), 10));
  CHECK(ec == errc::connection_refused);
}
