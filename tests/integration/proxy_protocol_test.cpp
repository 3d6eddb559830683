// socks5::server behind a load balancer: the PROXY protocol header, and listeners sharing a
// port with SO_REUSEPORT.
#include <doctest/doctest.h>

#include <mutex>

#include "proxy.hpp"
#include "records.hpp"
#include "socks5/wire/proxy_protocol.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::b;
using test::bytes;
using test::operator+;

namespace {

const bytes greeting = b({0x05, 0x01, 0x00});

tcp::endpoint ep(const char* ip, std::uint16_t port) {
  return {asio::ip::make_address(ip), port};
}

bytes header(const wire::proxy_header& h) {
  wire::proxy_header_buffer out;
  REQUIRE_FALSE(wire::encode(h, out));
  return test::to_bytes(out);
}

bytes v2_from(const tcp::endpoint& client, const tcp::endpoint& balancer) {
  return header({2, wire::proxy_command::proxy, wire::proxy_addresses{client, balancer}});
}

// Greeting answered, request answered with success, and the echo target reached.
void socks_round(tcp::socket& s, const tcp::endpoint& target) {
  REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, test::connect_request(target));
  const auto reply = test::receive(s, 10);
  REQUIRE(reply.size() == 10);
  CHECK(reply[1] == 0x00);
  test::send(s, test::text("ping"));
  CHECK(test::receive(s, 4) == test::text("ping"));
}

// Who the handler and the auth method were told the client is.
struct seen_clients {
  std::mutex mutex;
  std::vector<tcp::endpoint> by_handler;
  std::vector<tcp::endpoint> by_auth;
};

// No authentication, remembering the peer it is started for.
struct observing_no_auth {
  std::shared_ptr<seen_clients> seen;
  method_code code() const { return method::no_auth; }
  NoAuth::machine start(const server_auth_context& c) const {
    std::lock_guard lock(seen->mutex);
    seen->by_auth.push_back(c.peer);
    return {};
  }
};

server_options observed(test::record_log& log, const std::shared_ptr<seen_clients>& seen) {
  server_options options;
  options.proxy_protocol = true;
  options.on_session_end = log.hook();
  options.methods = {observing_no_auth{seen}};
  options.handler = [seen](const request_context& c) -> asio::awaitable<decision> {
    {
      std::lock_guard lock(seen->mutex);
      seen->by_handler.push_back(c.client);
    }
    co_return decision::allow();
  };
  return options;
}

}  // namespace

TEST_CASE("PROXY v2 header split over several writes: the header's source is the client") {
  test::record_log log;
  auto seen = std::make_shared<seen_clients>();
  test::threaded_proxy proxy(observed(log, seen));
  auto s = proxy.connect();
  const auto h = v2_from(ep("203.0.113.9", 40001), ep("198.51.100.1", 1080));
  // In pieces: inside the signature, at the end of the fixed part, inside the addresses.
  const std::size_t cuts[] = {0, 5, 16, 22, h.size()};
  for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
    test::send(s, bytes(h.begin() + static_cast<std::ptrdiff_t>(cuts[i]),
                        h.begin() + static_cast<std::ptrdiff_t>(cuts[i + 1])));
    std::this_thread::sleep_for(30ms);
  }
  test::send(s, greeting);
  socks_round(s, proxy.echo_endpoint());
  s.close();

  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].client == ep("203.0.113.9", 40001));
  CHECK(records[0].outcome() == "ok");
  std::lock_guard lock(seen->mutex);
  REQUIRE(seen->by_handler.size() == 1);
  CHECK(seen->by_handler[0] == ep("203.0.113.9", 40001));
  REQUIRE(seen->by_auth.size() == 1);
  CHECK(seen->by_auth[0] == ep("203.0.113.9", 40001));
}

TEST_CASE("PROXY header, greeting and request in one write: no octet after the header is lost") {
  test::record_log log;
  auto seen = std::make_shared<seen_clients>();
  test::threaded_proxy proxy(observed(log, seen));
  const bytes request = test::connect_request(proxy.echo_endpoint());

  SUBCASE("version 2 over IPv6, with TLVs") {
    bytes h = v2_from(ep("2001:db8::7", 5555), ep("2001:db8::1", 1080));
    h[15] = static_cast<std::uint8_t>(h[15] + 7);  // LEN grows by one TLV
    h = h + b({0x05, 0x00, 0x04, 'a', 'b', 'c', 'd'});
    auto s = proxy.connect();
    test::send(s, h + greeting + request + test::text("ping"));
    REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
    const auto reply = test::receive(s, 10);
    REQUIRE(reply.size() == 10);
    CHECK(reply[1] == 0x00);
    CHECK(test::receive(s, 4) == test::text("ping"));
    s.close();
    auto records = log.wait_for(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].client == ep("2001:db8::7", 5555));
  }
  SUBCASE("version 1") {
    const bytes h = test::text("PROXY TCP4 192.0.2.44 192.0.2.1 61000 1080\r\n");
    auto s = proxy.connect();
    test::send(s, h + greeting + request + test::text("ping"));
    REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
    const auto reply = test::receive(s, 10);
    REQUIRE(reply.size() == 10);
    CHECK(test::receive(s, 4) == test::text("ping"));
    s.close();
    auto records = log.wait_for(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].client == ep("192.0.2.44", 61000));
  }
  SUBCASE("version 1 split, UNKNOWN keeps the connection's address") {
    auto s = proxy.connect();
    const auto own = s.local_endpoint();
    test::send(s, test::text("PROXY UNK"));
    std::this_thread::sleep_for(30ms);
    test::send(s, test::text("NOWN\r"));
    std::this_thread::sleep_for(30ms);
    test::send(s, test::text("\n") + greeting);
    socks_round(s, proxy.echo_endpoint());
    s.close();
    auto records = log.wait_for(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].client == own);
  }
}

TEST_CASE("PROXY LOCAL (a health check) keeps the connection's own address") {
  test::record_log log;
  auto seen = std::make_shared<seen_clients>();
  test::threaded_proxy proxy(observed(log, seen));
  auto s = proxy.connect();
  const auto own = s.local_endpoint();
  test::send(s, header({2, wire::proxy_command::local, std::nullopt}) + greeting);
  socks_round(s, proxy.echo_endpoint());
  s.close();
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].client == own);
  std::lock_guard lock(seen->mutex);
  REQUIRE(seen->by_handler.size() == 1);
  CHECK(seen->by_handler[0] == own);
}

TEST_CASE("without a valid PROXY header the connection is closed with the header's error") {
  test::record_log log;
  server_options options;
  options.proxy_protocol = true;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);

  struct bad_case {
    const char* name;
    bytes sent;
    errc error;
  };
  bytes wrong_signature = v2_from(ep("192.0.2.1", 1), ep("192.0.2.2", 2));
  wrong_signature[7] = 0x52;
  bytes udp = v2_from(ep("192.0.2.1", 1), ep("192.0.2.2", 2));
  udp[13] = 0x12;
  const bad_case cases[] = {
      {"a plain SOCKS greeting", greeting, errc::proxy_bad_signature},
      {"a damaged v2 signature", wrong_signature + greeting, errc::proxy_bad_signature},
      {"UDP", udp, errc::proxy_unsupported_address},
      {"a v1 line with a lone LF", test::text("PROXY UNKNOWN\n") + greeting,
       errc::proxy_bad_text_header},
  };
  std::size_t n = 0;
  for (const auto& c : cases) {
    INFO(c.name);
    auto s = proxy.connect();
    const auto start = std::chrono::steady_clock::now();
    test::send(s, c.sent);
    // Closed at once, without a method selection: nothing comes back.
    CHECK(test::receive(s, 2, 3s).empty());
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    auto records = log.wait_for(++n);
    REQUIRE(records.size() == n);
    CHECK(records.back().error == c.error);
    CHECK(records.back().outcome() == "protocol-error");
    CHECK_FALSE(records.back().method);
  }
}

TEST_CASE("the PROXY header is bound by the handshake timeout") {
  test::record_log log;
  server_options options;
  options.proxy_protocol = true;
  options.handshake_timeout = 500ms;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  auto s = proxy.connect();
  const auto h = v2_from(ep("192.0.2.1", 1), ep("192.0.2.2", 2));
  test::send(s, bytes(h.begin(), h.begin() + 10));
  CHECK(test::closed_by_peer(s, 3s));
  auto records = log.wait_for(1);
  REQUIRE(records.size() == 1);
  CHECK(records[0].error == errc::handshake_timeout);
}

TEST_CASE("reuse_port: two servers share a port and both serve; without it the second fails") {
  asio::io_context ctx;
  server_options options;
  options.reuse_port = true;
  server first(ctx.get_executor(), options);
  REQUIRE_FALSE(first.listen({asio::ip::address_v4::loopback(), 0}));
  const auto port = first.local_endpoints().at(0).port();
  server second(ctx.get_executor(), options);
  REQUIRE_FALSE(second.listen({asio::ip::address_v4::loopback(), port}));
  CHECK(second.local_endpoints().at(0).port() == port);

  server plain(ctx.get_executor(), server_options{});
  CHECK(plain.listen({asio::ip::address_v4::loopback(), port}) == asio::error::address_in_use);
  // Both must have it: a listener without the option cannot join them either way.
  server_options own_port;
  own_port.reuse_port = true;
  server lone(ctx.get_executor(), server_options{});
  REQUIRE_FALSE(lone.listen({asio::ip::address_v4::loopback(), 0}));
  server joiner(ctx.get_executor(), own_port);
  CHECK(joiner.listen(lone.local_endpoints().at(0)) == asio::error::address_in_use);

  first.start();
  second.start();
  std::thread runner([&] { ctx.run_for(20s); });
  // The kernel spreads connections by their addresses and ports: 40 of them reach both.
  asio::io_context client_ctx;
  for (int i = 0; i < 40; ++i) {
    tcp::socket s(client_ctx);
    s.connect({asio::ip::address_v4::loopback(), port});
    test::send(s, greeting);
    CHECK(test::receive(s, 2) == b({0x05, 0x00}));
  }
  CHECK(first.total_sessions() > 0);
  CHECK(second.total_sessions() > 0);
  CHECK(first.total_sessions() + second.total_sessions() == 40);
  first.stop();
  second.stop();
  plain.stop();
  lone.stop();
  joiner.stop();
  ctx.stop();
  runner.join();
}
