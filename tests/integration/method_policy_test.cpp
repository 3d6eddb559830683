// No method outside the configured policy, on either side: the server selects only what it
// offers (else X'FF' and close), and the client accepts only what it offered (else an error
// and close), whatever the peer sends.
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "run.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/client.hpp"
#include "threaded.hpp"

using namespace socks5;
using asio::ip::tcp;
using test::b;
using test::bytes;

namespace {

// The server's two-octet answer to a greeting offering `methods`, and whether it then closed.
struct answer {
  bytes selection;
  bool closed = false;
};

answer greet(test::threaded_proxy& proxy, const std::vector<std::uint8_t>& methods) {
  auto s = proxy.connect();
  bytes greeting{0x05, static_cast<std::uint8_t>(methods.size())};
  greeting.insert(greeting.end(), methods.begin(), methods.end());
  test::send(s, greeting);
  answer a;
  a.selection = test::receive(s, 2);
  // A selected method is followed by its subnegotiation: the server waits, so do not wait long.
  a.closed = a.selection.size() == 2 && a.selection[1] == 0xff && test::closed_by_peer(s);
  return a;
}

}  // namespace

TEST_CASE("server: every single method code offered alone; only the configured one is selected") {
  server_options options;
  options.methods = {
      UserPassAuth::server{[](std::string_view, std::string_view) { return false; }}};
  test::threaded_proxy proxy(options);
  for (int code = 0; code < 256; ++code) {
    INFO("offered " << code);
    const auto a = greet(proxy, {static_cast<std::uint8_t>(code)});
    REQUIRE(a.selection.size() == 2);
    CHECK(a.selection[0] == 0x05);
    if (code == 0x02) {
      CHECK(a.selection[1] == 0x02);
    } else {
      CHECK(a.selection[1] == 0xff);
      CHECK(a.closed);
    }
  }
  // Every code but the configured one, in one greeting: still X'FF', and closed.
  std::vector<std::uint8_t> all_but;
  for (int code = 0; code < 256; ++code)
    if (code != 0x02) all_but.push_back(static_cast<std::uint8_t>(code));
  const auto a = greet(proxy, all_but);
  CHECK(a.selection == b({0x05, 0xff}));
  CHECK(a.closed);
}

TEST_CASE("server: the choice follows the server's preference, never the client's order") {
  server_options options;
  options.methods = {UserPassAuth::server{[](std::string_view, std::string_view) { return false; }},
                     NoAuth::server{}};
  test::threaded_proxy proxy(options);
  CHECK(greet(proxy, {0x00, 0x02}).selection == b({0x05, 0x02}));
  CHECK(greet(proxy, {0x02, 0x00}).selection == b({0x05, 0x02}));
  CHECK(greet(proxy, {0x01, 0x00, 0x03}).selection == b({0x05, 0x00}));
  CHECK(greet(proxy, {0x01, 0x03, 0x80, 0xfe}).selection == b({0x05, 0xff}));
}

namespace {

// A fake proxy that reads the greeting (NMETHODS of them), selects `selected` and then waits for
// the client's next octet or its end of stream; the result says which.
struct fake_selection {
  std::vector<std::uint8_t> greeting;
  std::error_code after_selection;  // eof when the client closed without sending anything
  std::size_t octets_after = 0;
};

asio::awaitable<void> select_anyway(tcp::acceptor& acceptor, std::uint8_t selected,
                                    fake_selection& out) {
  auto sock = co_await acceptor.async_accept(asio::use_awaitable);
  std::array<std::uint8_t, 2> head;
  co_await asio::async_read(sock, asio::buffer(head), asio::use_awaitable);
  out.greeting.resize(head[1]);
  co_await asio::async_read(sock, asio::buffer(out.greeting), asio::use_awaitable);
  const std::array<std::uint8_t, 2> select{0x05, selected};
  co_await asio::async_write(sock, asio::buffer(select), asio::use_awaitable);
  std::array<std::uint8_t, 64> more;
  auto [ec, n] = co_await sock.async_read_some(asio::buffer(more), detail::use_tuple);
  out.after_selection = ec;
  out.octets_after = n;
}

std::error_code connect_through_fake(std::uint8_t selected, client_options options,
                                     fake_selection& seen) {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), 0});
  asio::co_spawn(ctx, select_anyway(acceptor, selected, seen), asio::detached);
  socks5::client c(ctx.get_executor(), "127.0.0.1", acceptor.local_endpoint().port(),
                   std::move(options));
  auto connect = [&]() -> asio::awaitable<std::error_code> {
    auto [ec, s] = co_await c.async_connect(address("192.0.2.1", 80), detail::use_tuple);
    co_return ec;
  };
  const std::error_code ec = test::run(ctx, connect());
  // Let the fake see what the client did with the connection after failing.
  ctx.restart();
  ctx.run_for(std::chrono::seconds(5));
  return ec;
}

}  // namespace

TEST_CASE("client: a server selecting a method not offered gets an error and a closed connection") {
  // Username/password offered, the server "selects" no authentication: no silent downgrade.
  client_options userpass_only;
  userpass_only.methods = {UserPassAuth::client{"alice", "wonderland"}};
  fake_selection seen;
  CHECK(connect_through_fake(0x00, userpass_only, seen) == errc::unoffered_method);
  CHECK(seen.greeting == std::vector<std::uint8_t>{0x02});
  CHECK(seen.after_selection == asio::error::eof);  // closed, and no credentials sent
  CHECK(seen.octets_after == 0);

  // No authentication offered, the server selects GSS-API, or a private code.
  for (std::uint8_t selected : {std::uint8_t{0x01}, std::uint8_t{0x02}, std::uint8_t{0x86},
                                std::uint8_t{0x80}, std::uint8_t{0xfe}}) {
    INFO("selected " << int(selected));
    fake_selection other;
    CHECK(connect_through_fake(selected, client_options{}, other) == errc::unoffered_method);
    CHECK(other.greeting == std::vector<std::uint8_t>{0x00});
    CHECK(other.after_selection == asio::error::eof);
    CHECK(other.octets_after == 0);
  }
  // X'FF' is a refusal, reported as such.
  fake_selection refused;
  CHECK(connect_through_fake(0xff, client_options{}, refused) == errc::no_acceptable_methods);
  CHECK(refused.after_selection == asio::error::eof);
}
