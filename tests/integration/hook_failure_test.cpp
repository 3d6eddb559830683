// An exception from a hook, a verifier or a stream ends its own session and nothing else: the
// client is answered X'01' if it had no reply yet, the record carries the exception's text,
// on_session_end runs once, the counters come back, and async_stop completes.
#include <doctest/doctest.h>

#include <future>
#include <stdexcept>

#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include "proxy.hpp"
#include "records.hpp"
#include "socks5/auth/user_pass.hpp"
#include "threaded.hpp"

using namespace socks5;
using asio::ip::tcp;
using namespace std::chrono_literals;
using test::b;
using test::bytes;
using test::operator+;

namespace {

const bytes connect_to_echo_port_1 = b({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 1});

// Greets with no-auth, sends `request`, returns what comes back until the proxy closes.
bytes request_reply(test::threaded_proxy& proxy, std::uint8_t cmd) {
  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x00}));
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  auto request = connect_to_echo_port_1;
  request[1] = cmd;
  test::send(s, request);
  auto reply = test::receive(s, 10, 5s);
  CHECK(test::closed_by_peer(s));
  return reply;
}

// Stops the server and tells whether async_stop completed.
bool stops(test::threaded_proxy& proxy) {
  auto done = proxy.server().async_stop(0ms, asio::use_future);
  return done.wait_for(5s) == std::future_status::ready;
}

// Fails at the first data the relay asks it to protect.
class throwing_protection : public protection {
 public:
  std::size_t max_plaintext_size() const noexcept override { return 1000; }
  std::error_code wrap(wire::bytes_view, std::vector<wire::byte>&) override {
    throw std::runtime_error("wrap failed");
  }
  std::error_code unwrap(wire::byte, wire::bytes_view, std::vector<wire::byte>&) override {
    throw std::runtime_error("unwrap failed");
  }
};

}  // namespace

TEST_CASE("a handler that throws before the reply: X'01', its text recorded, nothing left") {
  test::record_log log;
  server_options options;
  options.allow_bind = true;
  options.allow_udp = true;
  options.on_session_end = log.hook();
  options.handler = [](const request_context&) -> asio::awaitable<decision> {
    throw std::runtime_error("policy store unreachable");
    co_return decision::allow();
  };
  test::threaded_proxy proxy(options);

  const std::uint8_t commands[] = {0x01, 0x02, 0x03};
  for (auto cmd : commands) {
    CAPTURE(int(cmd));
    const auto reply = request_reply(proxy, cmd);
    REQUIRE(reply.size() >= 2);
    CHECK(reply[1] == 0x01);
  }
  const auto records = log.wait_for(3);
  REQUIRE(records.size() == 3);
  for (const auto& r : records) {
    CHECK(r.error == errc::general_failure);
    CHECK(r.failure == "policy store unreachable");
    CHECK(r.outcome() == "error");
    CHECK(r.reply == reply_code::general_failure);
  }
  CHECK(proxy.server().active_sessions() == 0);
  CHECK(stops(proxy));
}

TEST_CASE("a handler whose awaited operation fails with use_awaitable ends only its session") {
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  options.max_connections = 2;
  const auto echo = std::make_shared<tcp::endpoint>();
  options.handler = [echo](const request_context& rc) -> asio::awaitable<decision> {
    if (rc.target.port() != 1) co_return decision::redirect(address(*echo));
    // Nothing listens on a port just closed: the connect throws system_error.
    auto ex = co_await asio::this_coro::executor;
    tcp::acceptor probe(ex, {asio::ip::address_v4::loopback(), 0});
    const auto closed = probe.local_endpoint();
    probe.close();
    tcp::socket s(ex);
    co_await s.async_connect(closed, asio::use_awaitable);
    co_return decision::allow();
  };
  test::threaded_proxy proxy(options);
  *echo = proxy.echo_endpoint();

  // A session relaying before, during and after the failing ones.
  auto running = proxy.connect();
  test::send(running, b({0x05, 0x01, 0x00}));
  CHECK(test::receive(running, 2) == b({0x05, 0x00}));
  test::send(running, b({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 2}));
  const auto ok = test::receive(running, 10);
  REQUIRE(ok.size() == 10);
  CHECK(ok[1] == 0x00);

  // More failures than max_connections allows at once: none of them holds a slot.
  for (int i = 0; i < 4; ++i) {
    const auto reply = request_reply(proxy, 0x01);
    REQUIRE(reply.size() >= 2);
    CHECK(reply[1] == 0x01);
  }
  test::send(running, test::text("still"));
  CHECK(test::receive(running, 5) == test::text("still"));

  const auto records = log.wait_for(4);
  REQUIRE(records.size() == 4);
  CHECK(records[0].failure.find("onnection refused") != std::string::npos);
  CHECK(proxy.server().active_sessions() == 1);
  running.close();
  CHECK(stops(proxy));
  CHECK(proxy.server().active_sessions() == 0);
}

TEST_CASE("after decision::use, a stream that throws in the relay ends the session") {
  test::record_log log;
  server_options options;
  options.on_session_end = log.hook();
  const auto echo = std::make_shared<tcp::endpoint>();
  options.handler = [echo](const request_context&) -> asio::awaitable<decision> {
    tcp::socket s(co_await asio::this_coro::executor);
    co_await s.async_connect(*echo, asio::use_awaitable);
    co_return decision::use(upstream_stream(std::move(s), std::make_unique<throwing_protection>()));
  };
  test::threaded_proxy proxy(options);
  *echo = proxy.echo_endpoint();

  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x00}));
  CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, connect_to_echo_port_1);
  const auto reply = test::receive(s, 10);
  REQUIRE(reply.size() == 10);
  CHECK(reply[1] == 0x00);
  test::send(s, test::text("data"));
  CHECK(test::closed_by_peer(s));

  const auto r = log.last();
  REQUIRE(r);
  CHECK(r->error == errc::general_failure);
  CHECK(r->failure == "wrap failed");
  CHECK(r->reply == reply_code::succeeded);
  CHECK(proxy.server().active_sessions() == 0);
  CHECK(stops(proxy));
}

TEST_CASE("an on_session_end that throws: the session is still counted out, the next served") {
  std::atomic<int> calls{0};
  server_options options;
  options.on_session_end = [&calls](const session_record&) {
    ++calls;
    throw std::runtime_error("log sink full");
  };
  test::threaded_proxy proxy(options);

  for (int i = 0; i < 2; ++i) {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x00}));
    CHECK(test::receive(s, 2) == b({0x05, 0x00}));
    test::send(s, b({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1}) +
                      b({proxy.echo_endpoint().port() >> 8, proxy.echo_endpoint().port() & 0xff}));
    const auto reply = test::receive(s, 10);
    REQUIRE(reply.size() == 10);
    CHECK(reply[1] == 0x00);
    test::send(s, test::text("echo"));
    CHECK(test::receive(s, 4) == test::text("echo"));
    s.shutdown(tcp::socket::shutdown_send);
    CHECK(test::closed_by_peer(s));
  }
  for (int i = 0; i < 100 && calls.load() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(calls.load() == 2);
  for (int i = 0; i < 100 && proxy.server().active_sessions() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(proxy.server().active_sessions() == 0);
  CHECK(stops(proxy));
  CHECK(calls.load() == 2);
}

TEST_CASE("a password verifier that throws ends the negotiation, and is recorded") {
  test::record_log log;
  server_options options;
  options.methods = {UserPassAuth::server{[](std::string_view, std::string_view) -> bool {
    throw std::runtime_error("user database down");
  }}};
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);

  auto s = proxy.connect();
  test::send(s, b({0x05, 0x01, 0x02}));
  CHECK(test::receive(s, 2) == b({0x05, 0x02}));
  test::send(s, b({0x01, 1, 'u', 1, 'p'}));
  test::receive(s, 2, 5s);
  CHECK(test::closed_by_peer(s));
  const auto r = log.last();
  REQUIRE(r);
  CHECK(r->failure == "user database down");
  CHECK_FALSE(r->reply);
  CHECK(proxy.server().active_sessions() == 0);
  CHECK(stops(proxy));
}
