// socks5::metrics reported by a running socks5::server and scraped from socks5::metrics_server
// over HTTP.
#include <doctest/doctest.h>

#include "http_client.hpp"
#include "process.hpp"
#include "records.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/metrics.hpp"
#include "socks5/metrics_server.hpp"
#include "threaded.hpp"

using namespace socks5;
using namespace std::chrono_literals;
using asio::ip::tcp;
using test::b;
using test::operator+;

namespace {

const tcp::endpoint any_loopback_port{asio::ip::address_v4::loopback(), 0};

credential_verifier alice() {
  return [](std::string_view u, std::string_view p) { return u == "alice" && p == "wonderland"; };
}

// Scrapes until the body has `line`; the last scrape either way.
std::string scrape_until(const tcp::endpoint& where, const std::string& line,
                         std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto body = test::http_body(test::http_get(where, "/metrics"));
    if (test::has_line(body, line) || std::chrono::steady_clock::now() >= deadline) return body;
    std::this_thread::sleep_for(20ms);
  }
}

// Greeting with no authentication, then CONNECT; returns the reply code.
int connect_without_auth(tcp::socket& s, const tcp::endpoint& target) {
  test::send(s, b({0x05, 0x01, 0x00}));
  REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
  test::send(s, test::connect_request(target));
  const auto reply = test::receive(s, 10);
  REQUIRE(reply.size() == 10);
  return reply[1];
}

// A session through the proxy that ends "ok".
void one_good_session(test::threaded_proxy& proxy) {
  auto s = proxy.connect();
  CHECK(connect_without_auth(s, proxy.echo_endpoint()) == 0);
  test::send(s, test::text("ping"));
  CHECK(test::receive(s, 4) == test::text("ping"));
}

}  // namespace

TEST_CASE("metrics over HTTP: exact counts after sessions that end ok, auth-failed and refused") {
  auto registry = std::make_shared<metrics>();
  test::record_log log;
  server_options options;
  options.methods = {UserPassAuth::server{alice()}, NoAuth::server{}};
  options.metrics = registry;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  metrics_server endpoint(proxy.context().get_executor(), registry);
  REQUIRE_FALSE(endpoint.listen(any_loopback_port));
  endpoint.start();
  REQUIRE(endpoint.local_endpoints().size() == 1);
  const auto where = endpoint.local_endpoints().at(0);

  {
    // A session is "negotiating" until its method is chosen, then counted under the method.
    auto s = proxy.connect();
    auto before = scrape_until(where, "socks5_sessions_active{method=\"negotiating\"} 1");
    CHECK(test::has_line(before, "socks5_sessions_active{method=\"negotiating\"} 1"));
    CHECK(connect_without_auth(s, proxy.echo_endpoint()) == 0);
    auto during = scrape_until(where, "socks5_sessions_active{method=\"none\"} 1");
    CHECK(test::has_line(during, "socks5_sessions_active{method=\"none\"} 1"));
    CHECK(test::has_line(during, "socks5_sessions_active{method=\"negotiating\"} 0"));
    CHECK(test::has_line(during, "socks5_handshake_seconds_count 1"));
    test::send(s, test::text("hello"));
    CHECK(test::receive(s, 5) == test::text("hello"));
  }
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x02}));
    REQUIRE(test::receive(s, 2) == b({0x05, 0x02}));
    test::send(s, b({0x01, 0x05}) + test::text("alice") + b({0x05}) + test::text("guess"));
    CHECK(test::receive(s, 2) == b({0x01, 0x01}));
    CHECK(test::closed_by_peer(s));
  }
  {
    const tcp::endpoint nobody(asio::ip::address_v4::loopback(), test::free_port());
    auto s = proxy.connect();
    CHECK(connect_without_auth(s, nobody) == 0x05);
    CHECK(test::closed_by_peer(s));
  }
  REQUIRE(log.wait_for(3).size() == 3);

  const auto response = test::http_get(where, "/metrics");
  const auto body = test::http_body(response);
  INFO(response);
  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
        std::string::npos);
  CHECK(response.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") !=
        std::string::npos);
  CHECK(response.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(body == registry->render());

  CHECK(test::has_line(body, "socks5_sessions_total{method=\"none\",outcome=\"ok\"} 1"));
  CHECK(test::has_line(body, "socks5_sessions_total{method=\"none\",outcome=\"refused\"} 1"));
  CHECK(
      test::has_line(body, "socks5_sessions_total{method=\"userpass\",outcome=\"auth-failed\"} 1"));
  CHECK(body.find("socks5_sessions_total{method=\"negotiating\"") == std::string::npos);
  CHECK(test::has_line(body, "socks5_auth_failures_total{method=\"userpass\"} 1"));
  CHECK(test::has_line(body, "socks5_sessions_active{method=\"negotiating\"} 0"));
  CHECK(test::has_line(body, "socks5_sessions_active{method=\"none\"} 0"));
  CHECK(test::has_line(body, "socks5_sessions_active{method=\"userpass\"} 0"));
  CHECK(test::has_line(body, "socks5_bytes_total{direction=\"up\"} 5"));
  CHECK(test::has_line(body, "socks5_bytes_total{direction=\"down\"} 5"));
  CHECK(test::has_line(body, "socks5_requests_total{command=\"connect\",reply=\"succeeded\"} 1"));
  CHECK(test::has_line(
      body, "socks5_requests_total{command=\"connect\",reply=\"connection-refused\"} 1"));
  CHECK(test::has_line(body, "socks5_handshake_seconds_count 2"));
  CHECK(test::has_line(body, "socks5_handshake_seconds_bucket{le=\"+Inf\"} 2"));
}

TEST_CASE("metrics endpoint: other paths, methods and malformed requests; the proxy is unmoved") {
  auto registry = std::make_shared<metrics>();
  test::record_log log;
  server_options options;
  options.metrics = registry;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  metrics_server endpoint(proxy.context().get_executor(), registry);
  REQUIRE_FALSE(endpoint.listen(any_loopback_port));
  endpoint.start();
  const auto where = endpoint.local_endpoints().at(0);

  auto status_line = [&](const std::string& request) {
    const auto response = test::http_exchange(where, request);
    return response.substr(0, response.find("\r\n"));
  };
  CHECK(status_line("GET /other HTTP/1.1\r\nHost: x\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status_line("GET / HTTP/1.1\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status_line("GET /metrics/more HTTP/1.1\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status_line("GET /metrics?name[]=x HTTP/1.1\r\n\r\n") == "HTTP/1.1 200 OK");
  CHECK(status_line("GET /metrics HTTP/1.0\r\n\r\n") == "HTTP/1.1 200 OK");
  CHECK(status_line("GARBAGE\r\n\r\n") == "HTTP/1.1 400 Bad Request");
  CHECK(status_line("GET /metrics\r\n\r\n") == "HTTP/1.1 400 Bad Request");
  CHECK(status_line("GET /metrics HTTP/2.0\r\n\r\n") == "HTTP/1.1 400 Bad Request");
  CHECK(status_line("GET  /metrics HTTP/1.1\r\n\r\n") == "HTTP/1.1 400 Bad Request");
  CHECK(status_line("G(T /metrics HTTP/1.1\r\n\r\n") == "HTTP/1.1 400 Bad Request");
  CHECK(status_line(std::string("GET /met\x01rics HTTP/1.1\r\n\r\n")) ==
        "HTTP/1.1 400 Bad Request");
  CHECK(status_line(std::string(20000, 'A')) == "HTTP/1.1 431 Request Header Fields Too Large");
  CHECK(status_line("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n") ==
        "HTTP/1.1 431 Request Header Fields Too Large");

  const auto post =
      test::http_exchange(where, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  INFO(post);
  CHECK(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(post.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);

  const auto head = test::http_exchange(where, "HEAD /metrics HTTP/1.1\r\n\r\n");
  INFO(head);
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find("\r\nContent-Length: " + std::to_string(registry->render().size()) + "\r\n") !=
        std::string::npos);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");  // no body

  // None of that touched the SOCKS side: no session, and sessions still work.
  CHECK(log.wait_for(1, 100ms).empty());
  one_good_session(proxy);
  REQUIRE(log.wait_for(1).size() == 1);
  const auto body = test::http_body(test::http_get(where, "/metrics"));
  CHECK(test::has_line(body, "socks5_sessions_total{method=\"none\",outcome=\"ok\"} 1"));
  CHECK(test::has_line(body, "socks5_bytes_total{direction=\"up\"} 4"));
}

TEST_CASE("metrics endpoint: a silent client is cut at the timeout; the connection limit holds") {
  auto registry = std::make_shared<metrics>();
  test::threaded_proxy proxy;
  metrics_server_options options;
  options.timeout = 1s;
  options.max_connections = 1;
  metrics_server endpoint(proxy.context().get_executor(), registry, options);
  REQUIRE_FALSE(endpoint.listen(any_loopback_port));
  endpoint.start();
  const auto where = endpoint.local_endpoints().at(0);

  asio::io_context ctx;
  tcp::socket silent(ctx);
  silent.connect(where);
  const auto start = std::chrono::steady_clock::now();
  // The one connection allowed is taken: the next is closed unanswered.
  CHECK(test::http_get(where, "/metrics").empty());
  CHECK(std::chrono::steady_clock::now() - start < 900ms);
  CHECK(test::closed_by_peer(silent, 3s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 900ms);
  CHECK(elapsed < 3s);
  // Its place is free again.
  CHECK(test::http_get(where, "/metrics").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  // A request that never ends is cut all the same.
  tcp::socket dripping(ctx);
  dripping.connect(where);
  asio::write(dripping, asio::buffer(std::string("GET /metrics HTTP/1.1\r\n")));
  CHECK(test::closed_by_peer(dripping, 3s));
}

TEST_CASE("metrics endpoint: listen before and after start, IPv6, busy ports, stop") {
  auto registry = std::make_shared<const metrics>();
  test::threaded_proxy proxy;
  metrics_server endpoint(proxy.context().get_executor(), registry);
  CHECK(endpoint.local_endpoints().empty());
  REQUIRE_FALSE(endpoint.listen(any_loopback_port));
  endpoint.start();
  endpoint.start();  // once is enough; twice changes nothing
  REQUIRE_FALSE(endpoint.listen({asio::ip::address_v6::loopback(), 0}));
  const auto endpoints = endpoint.local_endpoints();
  REQUIRE(endpoints.size() == 2);
  CHECK(endpoints[1].address().is_v6());
  for (const auto& where : endpoints) {
    INFO(where.address().to_string());
    CHECK(test::http_get(where, "/metrics").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  }
  metrics_server other(proxy.context().get_executor(), registry);
  CHECK(other.listen(endpoints[0]));  // taken
  CHECK_THROWS_AS(metrics_server(proxy.context().get_executor(), nullptr), std::invalid_argument);

  asio::io_context ctx;
  tcp::socket waiting(ctx);
  waiting.connect(endpoints[0]);
  std::this_thread::sleep_for(100ms);  // accepted and waiting for its request
  endpoint.stop();
  CHECK(test::closed_by_peer(waiting, 2s));
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    tcp::socket s(ctx);
    std::error_code ec;
    s.connect(endpoints[0], ec);
    refused = ec == asio::error::connection_refused;
    if (!refused) std::this_thread::sleep_for(20ms);
  }
  CHECK(refused);
  CHECK(endpoint.listen(any_loopback_port));  // stopped for good
}

TEST_CASE("metrics from a running server: sessions that end before or at the request") {
  auto registry = std::make_shared<metrics>();
  test::record_log log;
  server_options options;
  options.metrics = registry;
  options.on_session_end = log.hook();
  test::threaded_proxy proxy(options);
  {
    auto s = proxy.connect();  // says nothing and goes: a port probe
  }
  REQUIRE(log.wait_for(1).size() == 1);
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x02}));  // username/password only: not offered here
    CHECK(test::receive(s, 2) == b({0x05, 0xff}));
    CHECK(test::closed_by_peer(s));
  }
  REQUIRE(log.wait_for(2).size() == 2);
  {
    auto s = proxy.connect();
    test::send(s, b({0x05, 0x01, 0x00}));
    REQUIRE(test::receive(s, 2) == b({0x05, 0x00}));
    test::send(s, test::connect_request(proxy.echo_endpoint(), 0x09));  // no such command
    const auto reply = test::receive(s, 10);
    REQUIRE(reply.size() == 10);
    CHECK(reply[1] == 0x07);
    CHECK(test::closed_by_peer(s));
  }
  REQUIRE(log.wait_for(3).size() == 3);

  const auto text = registry->render();
  INFO(text);
  CHECK(test::has_line(text, "socks5_sessions_total{method=\"negotiating\",outcome=\"closed\"} 1"));
  CHECK(test::has_line(text,
                       "socks5_sessions_total{method=\"negotiating\",outcome=\"auth-failed\"} 1"));
  CHECK(
      test::has_line(text, "socks5_sessions_total{method=\"none\",outcome=\"protocol-error\"} 1"));
  CHECK(test::has_line(text, "socks5_auth_failures_total{method=\"negotiating\"} 1"));
  CHECK(test::has_line(
      text, "socks5_requests_total{command=\"invalid\",reply=\"command-not-supported\"} 1"));
  CHECK(test::has_line(text, "socks5_handshake_seconds_count 1"));
  CHECK(test::has_line(text, "socks5_sessions_active{method=\"negotiating\"} 0"));
  CHECK(test::has_line(text, "socks5_sessions_active{method=\"none\"} 0"));
  CHECK(test::has_line(text, "socks5_bytes_total{direction=\"up\"} 0"));
}
