#include "socks5/metrics.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string_view>

#include <fmt/core.h>

#include "socks5/server.hpp"

namespace socks5 {

namespace {

// Label values, in the order series are rendered. Index 0 of `methods` is a session without a
// method yet.
constexpr std::array<const char*, 6> methods = {"negotiating", "none", "userpass",
                                                "gssapi",      "ssl",  "other"};
constexpr std::array<const char*, 8> outcomes = {
    "ok", "timeout", "auth-failed", "refused", "error", "closed", "stopped", "protocol-error"};
// Index 0: a request that could not be parsed, answered all the same.
constexpr std::array<const char*, 4> commands = {"invalid", "connect", "bind", "udp-associate"};
// By reply code, X'00' to X'08'.
constexpr std::array<const char*, 9> replies = {
    "succeeded",           "general-failure",       "not-allowed",
    "network-unreachable", "host-unreachable",      "connection-refused",
    "ttl-expired",         "command-not-supported", "address-type-not-supported"};
// The labels this registry sets itself: a user's label of the same name would clash.
constexpr std::array<std::string_view, 6> own_labels = {"method",  "outcome", "direction",
                                                        "command", "reply",   "le"};

constexpr auto relaxed = std::memory_order_relaxed;

std::size_t method_index(method_code m) noexcept {
  const std::string_view label = metrics::method_label(m);
  for (std::size_t i = 1; i < methods.size(); ++i)
    if (label == methods[i]) return i;
  return methods.size() - 1;
}

std::size_t outcome_index(std::string_view outcome) noexcept {
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    if (outcome == outcomes[i]) return i;
  return 4;  // "error": whatever else ends a session
}

std::size_t command_index(std::optional<command> cmd) noexcept {
  if (!cmd) return 0;
  switch (*cmd) {
    case command::connect: return 1;
    case command::bind: return 2;
    case command::udp_associate: return 3;
  }
  return 0;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Label values may hold anything; backslash, double quote and line feed are escaped.
std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_bound(double v) {
  return fmt::format("{}", v);
}

}  // namespace

struct metrics::impl {
  explicit impl(metrics_options options) : buckets(std::move(options.handshake_buckets)) {
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
        throw std::invalid_argument("metrics: histogram buckets must be finite and increasing");
    }
    for (const auto& label : options.labels) {
      const std::string& name = label.first;
      bool clash = false;
      for (auto own : own_labels)
        clash = clash || name == own;
      if (!valid_label_name(name) || clash)
        throw std::invalid_argument("metrics: '" + name + "' cannot be a label name");
      common += name + "=\"" + escape_label_value(label.second) + "\",";
    }
    bucket_counts = std::make_unique<std::atomic<std::uint64_t>[]>(buckets.size() + 1);
  }

  // name{common labels, extra}: `extra` is already "k=\"v\",..." without a trailing comma.
  std::string series(std::string_view name, std::string_view extra) const {
    std::string labels = common + std::string(extra);
    if (!labels.empty() && labels.back() == ',') labels.pop_back();
    if (labels.empty()) return std::string(name);
    return fmt::format("{}{{{}}}", name, labels);
  }

  static void header(std::string& out, std::string_view name, std::string_view type,
                     std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }

  std::vector<double> buckets;
  std::string common;  // the user's labels, rendered, each followed by a comma

  std::array<std::atomic<std::int64_t>, methods.size()> active{};
  std::array<std::atomic<bool>, methods.size()> selected{};  // shown once a method was used
  std::array<std::array<std::atomic<std::uint64_t>, outcomes.size()>, methods.size()> totals{};
  std::array<std::atomic<std::uint64_t>, methods.size()> auth_failures{};
  std::array<std::array<std::atomic<std::uint64_t>, replies.size()>, commands.size()> requests{};
  std::atomic<std::uint64_t> bytes_up{0};
  std::atomic<std::uint64_t> bytes_down{0};
  // Per bucket, not cumulative; the last one is above every bound.
  std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts;
  std::atomic<std::uint64_t> handshake_nanoseconds{0};
};

metrics::metrics() : metrics(metrics_options{}) {}

metrics::metrics(metrics_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

metrics::~metrics() = default;

const char* metrics::method_label(method_code m) noexcept {
  switch (m) {
    case method::no_auth: return "none";
    case method::username_password: return "userpass";
    case method::gssapi: return "gssapi";
    case method::ssl:
    case method::ssl_iana: return "ssl";
    default: return "other";
  }
}

void metrics::session_accepted() noexcept {
  impl_->active[0].fetch_add(1, relaxed);
}

void metrics::method_selected(method_code m) noexcept {
  const auto i = method_index(m);
  impl_->selected[i].store(true, relaxed);
  impl_->active[i].fetch_add(1, relaxed);
  impl_->active[0].fetch_sub(1, relaxed);
}

void metrics::reply_sent(std::optional<command> cmd, reply_code reply,
                         std::chrono::steady_clock::duration since_accept) noexcept {
  const auto r = static_cast<std::size_t>(reply);
  if (r < replies.size()) impl_->requests[command_index(cmd)][r].fetch_add(1, relaxed);

  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_accept).count();
  const auto nanoseconds = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
  const double seconds = static_cast<double>(nanoseconds) / 1e9;
  std::size_t bucket = 0;
  while (bucket < impl_->buckets.size() && seconds > impl_->buckets[bucket])
    ++bucket;
  impl_->bucket_counts[bucket].fetch_add(1, relaxed);
  impl_->handshake_nanoseconds.fetch_add(nanoseconds, relaxed);
}

void metrics::session_ended(const session_record& record) {
  const std::size_t m = record.method ? method_index(*record.method) : 0;
  const std::size_t o = outcome_index(record.outcome());
  impl_->active[m].fetch_sub(1, relaxed);
  impl_->totals[m][o].fetch_add(1, relaxed);
  if (std::string_view(outcomes[o]) == "auth-failed") impl_->auth_failures[m].fetch_add(1, relaxed);
  impl_->bytes_up.fetch_add(record.bytes_up, relaxed);
  impl_->bytes_down.fetch_add(record.bytes_down, relaxed);
}

std::string metrics::render() const {
  const impl& s = *impl_;
  std::string out;
  auto line = [&](std::string_view name, std::string_view labels, auto value) {
    fmt::format_to(std::back_inserter(out), "{} {}\n", s.series(name, labels), value);
  };
  auto method_label_text = [](std::size_t m) { return fmt::format("method=\"{}\",", methods[m]); };

  impl::header(out, "socks5_sessions_active", "gauge",
               "Sessions running now, by authentication method (negotiating until one is chosen).");
  for (std::size_t m = 0; m < methods.size(); ++m) {
    if (m != 0 && !s.selected[m].load(relaxed)) continue;
    line("socks5_sessions_active", method_label_text(m), s.active[m].load(relaxed));
  }

  impl::header(out, "socks5_sessions_total", "counter",
               "Sessions ended, by authentication method and outcome.");
  for (std::size_t m = 0; m < methods.size(); ++m) {
    for (std::size_t o = 0; o < outcomes.size(); ++o) {
      const auto v = s.totals[m][o].load(relaxed);
      if (v == 0) continue;
      line("socks5_sessions_total",
           fmt::format("method=\"{}\",outcome=\"{}\",", methods[m], outcomes[o]), v);
    }
  }

  impl::header(out, "socks5_bytes_total", "counter",
               "Octets relayed by ended sessions: up is client to target, down the reverse.");
  line("socks5_bytes_total", "direction=\"up\",", s.bytes_up.load(relaxed));
  line("socks5_bytes_total", "direction=\"down\",", s.bytes_down.load(relaxed));

  impl::header(out, "socks5_handshake_seconds", "histogram",
               "Time from accepting a connection to its first SOCKS reply.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < s.buckets.size(); ++b) {
    cumulative += s.bucket_counts[b].load(relaxed);
    line("socks5_handshake_seconds_bucket", fmt::format("le=\"{}\",", format_bound(s.buckets[b])),
         cumulative);
  }
  cumulative += s.bucket_counts[s.buckets.size()].load(relaxed);
  line("socks5_handshake_seconds_bucket", "le=\"+Inf\",", cumulative);
  line("socks5_handshake_seconds_sum", "",
       static_cast<double>(s.handshake_nanoseconds.load(relaxed)) / 1e9);
  line("socks5_handshake_seconds_count", "", cumulative);

  impl::header(out, "socks5_auth_failures_total", "counter",
               "Sessions that failed authentication, by method.");
  for (std::size_t m = 0; m < methods.size(); ++m) {
    const auto v = s.auth_failures[m].load(relaxed);
    if (v != 0) line("socks5_auth_failures_total", method_label_text(m), v);
  }

  impl::header(out, "socks5_requests_total", "counter",
               "Requests answered, by command and the first reply.");
  for (std::size_t c = 0; c < commands.size(); ++c) {
    for (std::size_t r = 0; r < replies.size(); ++r) {
      const auto v = s.requests[c][r].load(relaxed);
      if (v == 0) continue;
      line("socks5_requests_total",
           fmt::format("command=\"{}\",reply=\"{}\",", commands[c], replies[r]), v);
    }
  }
  return out;
}

}  // namespace socks5
