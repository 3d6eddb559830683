// socks5::metrics: what a server reports, rendered in the Prometheus text format 0.0.4.
#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include <asio/error.hpp>

#include "socks5/metrics.hpp"
#include "socks5/server.hpp"

using namespace socks5;
using namespace std::chrono_literals;

namespace {

session_record ended(std::optional<method_code> m, std::error_code error = {}) {
  session_record r;
  r.method = m;
  r.error = error;
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: the exact text of a small registry") {
  metrics_options options;
  options.handshake_buckets = {0.001, 0.01};
  metrics m(options);
  for (int i = 0; i < 3; ++i)
    m.session_accepted();
  m.method_selected(method::no_auth);
  m.method_selected(method::username_password);
  m.reply_sent(command::connect, reply_code::succeeded, 1ms);
  auto ok = ended(method::no_auth);
  ok.bytes_up = 10;
  ok.bytes_down = 20;
  ok.reply = reply_code::succeeded;
  m.session_ended(ok);
  m.session_ended(ended(method::username_password, errc::auth_failed));

  CHECK(m.render() ==
        "# HELP socks5_sessions_active Sessions running now, by authentication method "
        "(negotiating until one is chosen).\n"
        "# TYPE socks5_sessions_active gauge\n"
        "socks5_sessions_active{method=\"negotiating\"} 1\n"
        "socks5_sessions_active{method=\"none\"} 0\n"
        "socks5_sessions_active{method=\"userpass\"} 0\n"
        "# HELP socks5_sessions_total Sessions ended, by authentication method and outcome.\n"
        "# TYPE socks5_sessions_total counter\n"
        "socks5_sessions_total{method=\"none\",outcome=\"ok\"} 1\n"
        "socks5_sessions_total{method=\"userpass\",outcome=\"auth-failed\"} 1\n"
        "# HELP socks5_bytes_total Octets relayed by ended sessions: up is client to target, "
        "down the reverse.\n"
        "# TYPE socks5_bytes_total counter\n"
        "socks5_bytes_total{direction=\"up\"} 10\n"
        "socks5_bytes_total{direction=\"down\"} 20\n"
        "# HELP socks5_handshake_seconds Time from accepting a connection to its first SOCKS "
        "reply.\n"
        "# TYPE socks5_handshake_seconds histogram\n"
        "socks5_handshake_seconds_bucket{le=\"0.001\"} 1\n"
        "socks5_handshake_seconds_bucket{le=\"0.01\"} 1\n"
        "socks5_handshake_seconds_bucket{le=\"+Inf\"} 1\n"
        "socks5_handshake_seconds_sum 0.001\n"
        "socks5_handshake_seconds_count 1\n"
        "# HELP socks5_auth_failures_total Sessions that failed authentication, by method.\n"
        "# TYPE socks5_auth_failures_total counter\n"
        "socks5_auth_failures_total{method=\"userpass\"} 1\n"
        "# HELP socks5_requests_total Requests answered, by command and the first reply.\n"
        "# TYPE socks5_requests_total counter\n"
        "socks5_requests_total{command=\"connect\",reply=\"succeeded\"} 1\n");
}

TEST_CASE("metrics: an empty registry has every family, zero gauges and an empty histogram") {
  metrics m;
  const auto text = m.render();
  CHECK(has_line(text, "socks5_sessions_active{method=\"negotiating\"} 0"));
  CHECK(text.find("socks5_sessions_active{method=\"none\"}") == std::string::npos);
  CHECK(has_line(text, "# TYPE socks5_sessions_total counter"));
  CHECK(text.find("socks5_sessions_total{") == std::string::npos);
  CHECK(has_line(text, "socks5_bytes_total{direction=\"up\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"0.0005\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"5\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"+Inf\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_sum 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_count 0"));
  CHECK(has_line(text, "# TYPE socks5_auth_failures_total counter"));
  CHECK(has_line(text, "# TYPE socks5_requests_total counter"));
  CHECK(text.back() == '\n');
}

TEST_CASE("metrics: histogram buckets are cumulative, bounds inclusive, +Inf counts all") {
  metrics_options options;
  options.handshake_buckets = {0.001, 0.005, 0.1};
  metrics m(options);
  for (std::chrono::microseconds d : {200us, 1000us, 3000us, 3000us, 50000us, 10000000us})
    m.reply_sent(command::connect, reply_code::succeeded, d);
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"0.001\"} 2"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"0.005\"} 4"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"0.1\"} 5"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"+Inf\"} 6"));
  CHECK(has_line(text, "socks5_handshake_seconds_sum 10.0572"));
  CHECK(has_line(text, "socks5_handshake_seconds_count 6"));
  CHECK(has_line(text, "socks5_requests_total{command=\"connect\",reply=\"succeeded\"} 6"));
}

TEST_CASE("metrics: the registry's own labels are escaped and put on every series") {
  metrics_options options;
  options.handshake_buckets = {1};
  options.labels = {{"listener", "a\"b\\c\nd"}, {"zone", "eu"}};
  metrics m(options);
  m.session_accepted();
  const auto text = m.render();
  INFO(text);
  const std::string own = "listener=\"a\\\"b\\\\c\\nd\",zone=\"eu\"";
  CHECK(has_line(text, "socks5_sessions_active{" + own + ",method=\"negotiating\"} 1"));
  CHECK(has_line(text, "socks5_bytes_total{" + own + ",direction=\"down\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{" + own + ",le=\"1\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{" + own + ",le=\"+Inf\"} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_sum{" + own + "} 0"));
  CHECK(has_line(text, "socks5_handshake_seconds_count{" + own + "} 0"));
}

TEST_CASE("metrics: bad label names and buckets are refused") {
  for (const char* name :
       {"", "1st", "a-b", "__reserved", "method", "outcome", "le", "dir ection"}) {
    INFO(name);
    metrics_options options;
    options.labels = {{name, "x"}};
    CHECK_THROWS_AS(metrics{options}, std::invalid_argument);
  }
  metrics_options fine;
  fine.labels = {{"_ok", "x"}, {"Ok9", ""}};
  CHECK_NOTHROW(metrics{fine});

  for (std::vector<double> buckets :
       {std::vector<double>{0.1, 0.1}, std::vector<double>{1, 0.5},
        std::vector<double>{1, std::numeric_limits<double>::infinity()}}) {
    metrics_options options;
    options.handshake_buckets = buckets;
    CHECK_THROWS_AS(metrics{options}, std::invalid_argument);
  }
  metrics_options none;
  none.handshake_buckets = {};
  metrics only_inf(none);
  only_inf.reply_sent(command::bind, reply_code::succeeded, 2s);
  const auto text = only_inf.render();
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"+Inf\"} 1"));
  CHECK(has_line(text, "socks5_handshake_seconds_sum 2"));
}

TEST_CASE("metrics: method labels; both SSL codes are ssl, unknown codes other") {
  CHECK(std::string(metrics::method_label(method::no_auth)) == "none");
  CHECK(std::string(metrics::method_label(method::username_password)) == "userpass");
  CHECK(std::string(metrics::method_label(method::gssapi)) == "gssapi");
  CHECK(std::string(metrics::method_label(method::ssl)) == "ssl");
  CHECK(std::string(metrics::method_label(method::ssl_iana)) == "ssl");
  CHECK(std::string(metrics::method_label(0x80)) == "other");

  metrics m;
  m.session_accepted();
  m.method_selected(method::ssl_iana);
  m.session_accepted();
  m.method_selected(0x80);
  const auto text = m.render();
  CHECK(has_line(text, "socks5_sessions_active{method=\"ssl\"} 1"));
  CHECK(has_line(text, "socks5_sessions_active{method=\"other\"} 1"));
  CHECK(has_line(text, "socks5_sessions_active{method=\"negotiating\"} 0"));
}

TEST_CASE("metrics: every outcome of session_record::outcome() has its own series") {
  metrics m;
  auto refused = ended(method::no_auth, errc::connection_refused);
  refused.reply = reply_code::connection_refused;
  const std::vector<std::pair<session_record, std::string>> cases = {
      {ended(method::no_auth), "method=\"none\",outcome=\"ok\""},
      {ended(method::no_auth, errc::idle_timeout), "method=\"none\",outcome=\"timeout\""},
      {ended(std::nullopt, errc::handshake_timeout), "method=\"negotiating\",outcome=\"timeout\""},
      {ended(method::gssapi, errc::auth_failed), "method=\"gssapi\",outcome=\"auth-failed\""},
      {ended(std::nullopt, errc::no_acceptable_methods),
       "method=\"negotiating\",outcome=\"auth-failed\""},
      {refused, "method=\"none\",outcome=\"refused\""},
      {ended(method::no_auth, asio::error::broken_pipe), "method=\"none\",outcome=\"error\""},
      {ended(std::nullopt, asio::error::eof), "method=\"negotiating\",outcome=\"closed\""},
      {ended(method::ssl, errc::server_stopping), "method=\"ssl\",outcome=\"stopped\""},
      {ended(std::nullopt, errc::bad_version), "method=\"negotiating\",outcome=\"protocol-error\""},
  };
  for (const auto& c : cases) {
    m.session_accepted();
    if (c.first.method) m.method_selected(*c.first.method);
    m.session_ended(c.first);
  }
  const auto text = m.render();
  INFO(text);
  for (const auto& c : cases) {
    INFO(c.second);
    CHECK(has_line(text, "socks5_sessions_total{" + c.second + "} 1"));
  }
  CHECK(has_line(text, "socks5_auth_failures_total{method=\"negotiating\"} 1"));
  CHECK(has_line(text, "socks5_auth_failures_total{method=\"gssapi\"} 1"));
  for (const char* method : {"negotiating", "none", "gssapi", "ssl"}) {
    INFO(method);
    CHECK(has_line(text, std::string("socks5_sessions_active{method=\"") + method + "\"} 0"));
  }
}

TEST_CASE("metrics: requests by command and reply; an unparsed request is 'invalid'") {
  metrics m;
  m.reply_sent(std::nullopt, reply_code::command_not_supported, 1ms);
  m.reply_sent(command::udp_associate, reply_code::succeeded, 1ms);
  m.reply_sent(command::bind, reply_code::ttl_expired, 1ms);
  m.reply_sent(command::connect, reply_code::address_type_not_supported, 1ms);
  m.reply_sent(command::connect, reply_code::host_unreachable, 1ms);
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text,
                 "socks5_requests_total{command=\"invalid\",reply=\"command-not-supported\"} 1"));
  CHECK(has_line(text, "socks5_requests_total{command=\"udp-associate\",reply=\"succeeded\"} 1"));
  CHECK(has_line(text, "socks5_requests_total{command=\"bind\",reply=\"ttl-expired\"} 1"));
  CHECK(has_line(
      text, "socks5_requests_total{command=\"connect\",reply=\"address-type-not-supported\"} 1"));
  CHECK(has_line(text, "socks5_requests_total{command=\"connect\",reply=\"host-unreachable\"} 1"));
  CHECK(has_line(text, "socks5_handshake_seconds_count 5"));
}

TEST_CASE("metrics: many threads report at once, and rendering meanwhile is safe") {
  metrics m;
  constexpr int threads = 4;
  constexpr int sessions = 5000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&m] {
      for (int i = 0; i < sessions; ++i) {
        m.session_accepted();
        m.method_selected(method::username_password);
        m.reply_sent(command::connect, reply_code::succeeded, 100us);
        auto r = ended(method::username_password);
        r.bytes_up = 1;
        r.bytes_down = 2;
        m.session_ended(r);
      }
    });
  }
  for (int i = 0; i < 20; ++i)
    CHECK(m.render().find("# TYPE socks5_requests_total counter") != std::string::npos);
  for (auto& t : pool)
    t.join();
  const auto text = m.render();
  const auto total = std::to_string(threads * sessions);
  CHECK(has_line(text, "socks5_sessions_total{method=\"userpass\",outcome=\"ok\"} " + total));
  CHECK(has_line(text, "socks5_sessions_active{method=\"userpass\"} 0"));
  CHECK(has_line(text, "socks5_sessions_active{method=\"negotiating\"} 0"));
  CHECK(has_line(text, "socks5_bytes_total{direction=\"up\"} " + total));
  CHECK(has_line(
      text, "socks5_bytes_total{direction=\"down\"} " + std::to_string(2 * threads * sessions)));
  CHECK(has_line(text, "socks5_handshake_seconds_count " + total));
  CHECK(has_line(text, "socks5_handshake_seconds_bucket{le=\"0.0005\"} " + total));
}

TEST_CASE("metrics: content type is the text format's") {
  CHECK(std::string(metrics::content_type).rfind("text/plain; version=0.0.4", 0) == 0);
}
