// socks5::client through Debian's danted, and a chain of two third-party proxies.
#include <doctest/doctest.h>

#include "bind_peer.hpp"
#include "echo_server.hpp"
#include "process.hpp"
#include "run.hpp"
#include "socks5/bind.hpp"
#include "socks5/client.hpp"
#include "socks5/udp.hpp"
#include "transfer.hpp"
#include "udp_echo.hpp"

#include <asio/detached.hpp>

using namespace socks5;
using namespace std::chrono_literals;

namespace {

// danted on 127.0.0.1 without authentication; connections to `blocked_port` are refused by rule.
struct danted {
  danted(const test::temp_dir& dir, std::uint16_t blocked_port)
      : port(test::free_port()),
        proc({"danted", "-f", write_config(dir, port, blocked_port), "-N", "1"},
             dir / "danted.out") {
    REQUIRE_MESSAGE(test::wait_for_port(port), test::read_file(dir / "danted.log")
                                                   << proc.output());
  }
  static std::string write_config(const test::temp_dir& dir, std::uint16_t port,
                                  std::uint16_t blocked) {
    return dir.write("danted.conf", "logoutput: " + (dir / "danted.log") +
                                        "\n"
                                        "internal: 127.0.0.1 port = " +
                                        std::to_string(port) +
                                        "\n"
                                        "external: 127.0.0.1\n"
                                        "socksmethod: none\n"
                                        "clientmethod: none\n"
                                        "user.privileged: root\n"
                                        "user.unprivileged: nobody\n"
                                        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                                        "socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 port = " +
                                        std::to_string(blocked) +
                                        " }\n"
                                        "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: "
                                        "connect bind udpassociate bindreply udpreply }\n");
  }
  std::uint16_t port;
  test::process proc;
};

asio::awaitable<std::tuple<std::error_code, test::received>> connect_and_echo(socks5::client c,
                                                                              address target,
                                                                              std::size_t size) {
  return test::connect_and_echo(std::move(c), std::move(target), size, 9,
                                test::echo_mode::half_close);
}

}  // namespace

TEST_CASE("danted: IPv4 and domain-name targets, 1 MiB echoed with half-close") {
  test::temp_dir dir;
  danted peer(dir, 9);
  asio::io_context ctx;
  test::echo_server target(ctx);
  socks5::client c(ctx.get_executor(), "127.0.0.1", peer.port);
  for (auto t : {address(target.endpoint()), address("localhost", target.port())}) {
    INFO(t.to_string());
    auto [ec, got] = test::run(ctx, connect_and_echo(c, t, 1024 * 1024));
    REQUIRE_FALSE(ec);
    CHECK_FALSE(got.error);
    CHECK(got.hash == test::sha256(test::random_payload(1024 * 1024, 9)));
  }
}

TEST_CASE("danted: a rule refusal is errc::not_allowed, a closed port connection_refused") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::echo_server blocked(ctx);
  danted peer(dir, blocked.port());
  socks5::client c(ctx.get_executor(), "127.0.0.1", peer.port);
  auto [ec, got] = test::run(ctx, connect_and_echo(c, address(blocked.endpoint()), 10));
  CHECK(ec == errc::not_allowed);

  asio::ip::tcp::acceptor closed(ctx, {asio::ip::address_v4::loopback(), 0});
  const auto port = closed.local_endpoint().port();
  closed.close();
  auto [refused_ec, refused_got] =
      test::run(ctx, connect_and_echo(c, address("127.0.0.1", port), 10));
  CHECK(refused_ec == errc::connection_refused);
}

TEST_CASE("a chain of two real proxies: client -> microsocks -> danted -> target") {
  test::temp_dir dir;
  danted second(dir, 9);
  const auto first_port = test::free_port();
  test::process first({"microsocks", "-i", "127.0.0.1", "-p", std::to_string(first_port)},
                      dir / "microsocks.log");
  REQUIRE(test::wait_for_port(first_port));

  asio::io_context ctx;
  test::echo_server target(ctx);
  const address danted_address("127.0.0.1", second.port);
  auto chain = [&]() -> asio::awaitable<test::received> {
    socks5::client to_first(ctx.get_executor(), "127.0.0.1", first_port);
    auto hop1 = co_await to_first.async_connect(danted_address, asio::use_awaitable);
    const address final_target(target.endpoint());
    const client_options opts;
    auto hop2 = co_await async_connect(std::move(hop1), final_target, opts, asio::use_awaitable);
    const auto data = test::random_payload(300000, 9);
    // microsocks, the first hop, does not pass half-closes on.
    auto got = co_await test::echo_exact(hop2, data);
    co_return got;
  };
  auto got = test::run(ctx, chain());
  CHECK_FALSE(got.error);
  CHECK(got.hash == test::sha256(test::random_payload(300000, 9)));
}

TEST_CASE("danted: our UDP ASSOCIATE client, to an address and to a name") {
  test::temp_dir dir;
  danted peer(dir, 9);
  asio::io_context ctx;
  test::udp_echo echo(ctx);
  socks5::client c(ctx.get_executor(), "127.0.0.1", peer.port);
  const address by_ip(echo.endpoint()), by_name("localhost", echo.endpoint().port());
  auto replies = test::run(ctx, [&]() -> asio::awaitable<std::vector<std::string>> {
    auto a = co_await c.async_udp_associate(asio::use_awaitable);
    std::vector<std::string> out;
    for (const auto* target : {&by_ip, &by_name}) {
      const std::string text = "through dante to " + target->to_string();
      co_await a.async_send_to(asio::buffer(text), *target, asio::use_awaitable);
      std::array<char, 256> buf;
      address from;
      auto n = co_await a.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
      out.push_back(std::string(buf.data(), n) + " from " + from.to_string());
    }
    co_return out;
  }());
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == "through dante to " + by_ip.to_string() + " from " + by_ip.to_string());
  CHECK(replies[1] == "through dante to " + by_name.to_string() + " from " + by_ip.to_string());
}

TEST_CASE("danted: our BIND client; a peer connects to the announced address") {
  test::temp_dir dir;
  danted peer(dir, 9);
  asio::io_context ctx;
  socks5::client c(ctx.get_executor(), "127.0.0.1", peer.port);
  auto heard =
      test::run(ctx, test::bind_and_hear(c, address("127.0.0.1", 0), "hello from the peer"));
  REQUIRE_MESSAGE(!heard.error, heard.error.message());
  CHECK(heard.text == "hello from the peer");
  CHECK(heard.peer.ip() == asio::ip::make_address("127.0.0.1"));
}
