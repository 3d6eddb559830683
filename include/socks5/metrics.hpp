// Prometheus metrics of a socks5::server: a registry the user owns and hands to the server
// (server_options::metrics), rendered in the Prometheus text exposition format 0.0.4.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "socks5/error.hpp"
#include "socks5/wire/method.hpp"
#include "socks5/wire/request.hpp"

namespace socks5 {

struct session_record;

struct metrics_options {
  // Upper bounds, in seconds and increasing, of socks5_handshake_seconds' buckets; +Inf is
  // always added.
  std::vector<double> handshake_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,  5};
  // Labels put on every series, e.g. {{"listener", "public"}}; names match
  // [a-zA-Z_][a-zA-Z0-9_]*, values are any text.
  std::vector<std::pair<std::string, std::string>> labels;
};

// The series, all counted from the moment the registry exists:
//   socks5_sessions_active{method}            gauge; method is "negotiating" until one is chosen
//   socks5_sessions_total{method,outcome}     counter; outcome is session_record::outcome()
//   socks5_bytes_total{direction}             counter; "up" client -> target, "down" back
//   socks5_handshake_seconds                  histogram; from accept to the first reply
//   socks5_auth_failures_total{method}        counter
//   socks5_requests_total{command,reply}      counter; the first reply to each request
// Methods are named none, userpass, gssapi, ssl or other; a session that ended before a method
// was chosen (including "no acceptable method") counts as "negotiating". Octets are counted
// when their session ends.
//
// Every member is thread-safe: counters are atomics, so one registry may serve several servers
// running on many threads, and be rendered while they run.
class metrics {
 public:
  metrics();
  // Throws std::invalid_argument for a bad label name or buckets that do not increase.
  explicit metrics(metrics_options options);
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // What a server reports, in this order for each session.
  void session_accepted() noexcept;
  void method_selected(method_code method) noexcept;
  // The first reply of a session; `cmd` is empty when the request could not be parsed.
  void reply_sent(std::optional<command> cmd, reply_code reply,
                  std::chrono::steady_clock::duration since_accept) noexcept;
  void session_ended(const session_record& record);

  // The whole registry in the text exposition format, served with `content_type`.
  std::string render() const;
  static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

  // "none", "userpass", "gssapi", "ssl" or "other": the label a method code gets.
  static const char* method_label(method_code method) noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace socks5
