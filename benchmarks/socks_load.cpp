// socks-load: drives a SOCKS5 server (or the target itself, without --socks) with many concurrent
// clients. The client side is hand-written SOCKS5 bytes (greeting 05 01 00, CONNECT to an IPv4
// target), so its cost is small and the same for every server. One JSON line with the figures
// goes to stdout, a human summary to stderr.
//
//   socks-load --mode cps  --target ADDR:PORT [--socks ADDR:PORT] [--concurrency N] [--seconds S]
//   socks-load --mode bulk --target ADDR:PORT [--socks ADDR:PORT] [--streams K] [--seconds S]
//   socks-load --mode idle --target ADDR:PORT [--socks ADDR:PORT] [--sessions N] [--parallel P]
//              [--ssl-ca FILE | --gss-ccache CCACHE [--gss-level 1|2]]
//   common: [--threads N] [--warmup S] [--size BYTES] [--label TEXT]
//
// cps:  each of N loops repeatedly connects, negotiates, CONNECTs to an echo target, sends
//       --size octets (default 1024), reads them back and checks them, and closes. Connections
//       per second over --seconds after --warmup, per-iteration latency p50/p99, errors.
// bulk: K connections to a sink target, each writing 64 KiB blocks as fast as it can; aggregate
//       MiB/s of what was written between --warmup and --warmup + --seconds.
// idle: opens N sessions to an echo target (CONNECT done, 16 octets echoed and checked), at
//       most P opening at once; prints "ready OPENED" on stdout, holds them until stdin closes
//       or SIGINT/SIGTERM arrives, then closes them all. With --ssl-ca the sessions are opened
//       by the library's client with the SSL method only, trusting the CA certificates in FILE
//       (the hand-written bytes speak no TLS): the memory of an idle protected session. With
//       --gss-ccache they are opened with GSS-API alone (service rcmd@localhost, credentials
//       from CCACHE, the protection level --gss-level, default 2).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "bench.hpp"
#include "cli.hpp"
#include "load_checks.hpp"
#include "process_stats.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/client.hpp"

namespace {

using asio::ip::tcp;
using bench::clock_type;
using bench::contexts;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

struct options {
  std::string mode;
  std::optional<tcp::endpoint> socks;
  tcp::endpoint target;
  std::string label;
  std::size_t threads = 1;
  std::size_t concurrency = 64;
  std::size_t streams = 1;
  std::size_t sessions = 1000;
  std::size_t parallel = 64;
  std::size_t size = 1024;
  double seconds = 5;
  double warmup = 0.5;
  std::string ssl_ca;      // idle sessions with the SSL method, trusting these CAs
  std::string gss_ccache;  // idle sessions with GSS-API, with these credentials
  int gss_level = 2;

  // Idle sessions opened with a protecting method, through the library's client.
  bool protected_idle() const { return !ssl_ca.empty() || !gss_ccache.empty(); }
};

// Addresses are IPv4 only: the CONNECT request is written by hand for an IPv4 target (ATYP 01).
tcp::endpoint ipv4_endpoint(const std::string& text) {
  const auto endpoint = cli::peer_endpoint(text);
  if (!endpoint.address().is_v4()) cli::fail("'{}': only IPv4 addresses are supported", text);
  return endpoint;
}

options parse(int argc, char** argv) {
  constexpr std::size_t many = 1u << 30;
  options o;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    const std::string& a = *opt;
    if (a == "--help")
      cli::usage(
          "socks-load --mode cps|bulk|idle --target ADDR:PORT [--socks ADDR:PORT] [--threads N]\n"
          "           [--concurrency N] [--streams K] [--sessions N] [--parallel P]\n"
          "           [--seconds S] [--warmup S] [--size BYTES] [--label TEXT]\n"
          "           [--ssl-ca FILE | --gss-ccache CCACHE [--gss-level 1|2]]\n");
    else if (a == "--mode")
      o.mode = args.value();
    else if (a == "--socks")
      o.socks = ipv4_endpoint(args.value());
    else if (a == "--target")
      o.target = ipv4_endpoint(args.value());
    else if (a == "--label")
      o.label = args.value();
    else if (a == "--threads")
      o.threads = cli::number(args.value(), 1, 1024);
    else if (a == "--concurrency")
      o.concurrency = cli::number(args.value(), 1, many);
    else if (a == "--streams")
      o.streams = cli::number(args.value(), 1, many);
    else if (a == "--sessions")
      o.sessions = cli::number(args.value(), 0, many);
    else if (a == "--parallel")
      o.parallel = cli::number(args.value(), 1, many);
    else if (a == "--size")
      o.size = cli::number(args.value(), 1, many);
    else if (a == "--seconds")
      o.seconds = cli::real(args.value(), 0, 1e6);
    else if (a == "--warmup")
      o.warmup = cli::real(args.value(), 0, 1e6);
    else if (a == "--ssl-ca")
      o.ssl_ca = args.value();
    else if (a == "--gss-ccache")
      o.gss_ccache = args.value();
    else if (a == "--gss-level")
      o.gss_level = static_cast<int>(cli::number(args.value(), 1, 2));
    else
      cli::fail("unknown option '{}' (see --help)", a);
  }
  cli::no_more(args);
  if (o.mode != "cps" && o.mode != "bulk" && o.mode != "idle")
    cli::fail("--mode is cps, bulk or idle");
  if (o.target.port() == 0) cli::fail("--target ADDR:PORT is required");
  if (o.protected_idle() && (o.mode != "idle" || !o.socks))
    cli::fail("--ssl-ca and --gss-ccache are for --mode idle through --socks");
  if (!o.ssl_ca.empty() && !o.gss_ccache.empty()) cli::fail("one of --ssl-ca and --gss-ccache");
  return o;
}

std::error_code protocol_error() {
  return std::make_error_code(std::errc::protocol_error);
}

// Connects to the target, through the proxy when there is one. On failure `step` names what
// failed.
asio::awaitable<std::error_code> open(tcp::socket& s, const options& o, const char*& step) {
  step = "connect";
  const tcp::endpoint first_hop = o.socks ? *o.socks : o.target;
  auto [ec] = co_await s.async_connect(first_hop, use_tuple);
  if (ec) co_return ec;
  std::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  if (!o.socks) co_return std::error_code{};

  step = "greeting";
  const std::array<std::uint8_t, 3> greeting{0x05, 0x01, 0x00};
  auto [e1, n1] = co_await asio::async_write(s, asio::buffer(greeting), use_tuple);
  if (e1) co_return e1;
  std::array<std::uint8_t, 2> choice{};
  auto [e2, n2] = co_await asio::async_read(s, asio::buffer(choice), use_tuple);
  if (e2) co_return e2;
  if (choice[0] != 0x05 || choice[1] != 0x00) co_return protocol_error();

  step = "request";
  const auto ip = o.target.address().to_v4().to_bytes();
  const auto port = o.target.port();
  const std::array<std::uint8_t, 10> request{0x05,
                                             0x01,
                                             0x00,
                                             0x01,
                                             ip[0],
                                             ip[1],
                                             ip[2],
                                             ip[3],
                                             static_cast<std::uint8_t>(port >> 8),
                                             static_cast<std::uint8_t>(port & 0xff)};
  auto [e3, n3] = co_await asio::async_write(s, asio::buffer(request), use_tuple);
  if (e3) co_return e3;

  step = "reply";
  std::array<std::uint8_t, 262> reply{};
  auto [e4, n4] = co_await asio::async_read(s, asio::buffer(reply.data(), 5), use_tuple);
  if (e4) co_return e4;
  if (reply[0] != 0x05) co_return protocol_error();
  // A refusal says which (X'05' connection refused, ...), not just that the reply was not X'00'.
  if (reply[1] != 0x00) co_return socks5::error_from_reply(reply[1]);
  // VER REP RSV ATYP, then the bound address (one octet of it read already) and the port.
  std::size_t rest = 0;
  switch (reply[3]) {
    case 0x01: rest = 4 - 1 + 2; break;
    case 0x04: rest = 16 - 1 + 2; break;
    case 0x03: rest = reply[4] + 2u; break;
    default: co_return protocol_error();
  }
  auto [e5, n5] = co_await asio::async_read(s, asio::buffer(reply.data() + 5, rest), use_tuple);
  if (e5) co_return e5;
  co_return std::error_code{};
}

// Sends `out` and reads as many octets back; they must be the same.
template <class Stream>
asio::awaitable<std::error_code> echo(Stream& s, const std::vector<std::uint8_t>& out,
                                      std::vector<std::uint8_t>& in) {
  auto [e1, n1] = co_await asio::async_write(s, asio::buffer(out), use_tuple);
  if (e1) co_return e1;
  auto [e2, n2] = co_await asio::async_read(s, asio::buffer(in.data(), out.size()), use_tuple);
  if (e2) co_return e2;
  if (!std::equal(out.begin(), out.end(), in.begin())) co_return protocol_error();
  co_return std::error_code{};
}

void fill(std::vector<std::uint8_t>& data, std::size_t seed) {
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::uint8_t>((i * 131 + seed * 7919) >> 3);
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  auto [ec] = co_await t.async_wait(use_tuple);
  (void)ec;
}

// ---- cps ----

struct loop_result {
  std::size_t completed = 0;
  std::vector<double> latencies_ms;
};

asio::awaitable<void> cps_loop(const options& o, std::size_t id, clock_type::time_point from,
                               clock_type::time_point until, loop_result& r,
                               bench::failures& errors) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::uint8_t> out(o.size), in(o.size);
  for (std::size_t iteration = 0; clock_type::now() < until; ++iteration) {
    fill(out, id * 1000003 + iteration);
    const auto t0 = clock_type::now();
    tcp::socket s(ex);
    const char* step = "connect";
    auto ec = co_await open(s, o, step);
    if (!ec) {
      step = "echo";
      ec = co_await echo(s, out, in);
    }
    std::error_code ignored;
    s.close(ignored);
    const auto t1 = clock_type::now();
    if (ec) {  // counted in the warm-up too
      errors.add(step, ec);
      co_await pause(std::chrono::milliseconds(10));  // do not spin on a refusing server
      continue;
    }
    if (t1 < from || t1 > until) continue;  // warm-up, or past the end
    ++r.completed;
    r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

int run_cps(const options& o) {
  contexts ctx(o.threads);
  std::vector<loop_result> results(o.concurrency);
  bench::failures errors;
  const auto start = clock_type::now();
  const auto from = start + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.warmup));
  const auto until = from + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.seconds));
  for (std::size_t i = 0; i < o.concurrency; ++i)
    asio::co_spawn(ctx[i], cps_loop(o, i, from, until, results[i], errors), asio::detached);
  ctx.run();

  std::size_t completed = 0;
  std::vector<double> all;
  for (auto& r : results) {
    completed += r.completed;
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  const double cps = static_cast<double>(completed) / o.seconds;
  const double p50 = percentile(all, 0.50), p99 = percentile(all, 0.99);
  fmt::print(stderr,
             "socks-load cps {}: {} concurrent, {:.1f} s: {} connections, {:.0f}/s, latency p50 "
             "{:.3f} ms p99 {:.3f} ms, {} errors{}\n",
             o.label, o.concurrency, o.seconds, completed, cps, p50, p99, errors.count(),
             errors.count() ? " (first: " + errors.first() + ")" : "");
  fmt::print(
      "{{\"mode\":\"cps\",\"label\":{},\"concurrency\":{},\"threads\":{},\"seconds\":{},"
      "\"size\":{},\"connections\":{},\"cps\":{:.1f},\"p50_ms\":{:.4f},\"p99_ms\":{:.4f},"
      "\"errors\":{},\"first_error\":{}}}\n",
      bench::json_string(o.label), o.concurrency, o.threads, o.seconds, o.size, completed, cps, p50,
      p99, errors.count(), bench::json_string(errors.first()));
  std::fflush(stdout);
  return 0;
}

// ---- bulk ----

struct bulk_state {
  std::atomic<bool> stop{false};
  std::vector<std::atomic<std::uint64_t>> written;
  std::vector<tcp::socket*> sockets;
  std::mutex sockets_mutex;
  std::atomic<std::size_t> connected{0};
  explicit bulk_state(std::size_t n) : written(n), sockets(n, nullptr) {}
};

asio::awaitable<void> bulk_stream(const options& o, std::size_t id, bulk_state& st,
                                  bench::failures& errors) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  const char* step = "connect";
  auto ec = co_await open(s, o, step);
  if (ec) {
    errors.add(step, ec);
    st.stop = true;
    co_return;
  }
  {
    std::lock_guard lock(st.sockets_mutex);
    st.sockets[id] = &s;
  }
  ++st.connected;
  std::vector<char> block(64 * 1024, 'x');
  while (!st.stop.load(std::memory_order_relaxed)) {
    auto [e, n] = co_await asio::async_write(s, asio::buffer(block), use_tuple);
    if (e) {
      if (!st.stop) errors.add("write", e);
      break;
    }
    st.written[id].fetch_add(n, std::memory_order_relaxed);
  }
  std::lock_guard lock(st.sockets_mutex);
  st.sockets[id] = nullptr;
}

std::uint64_t total_written(const bulk_state& st) {
  std::uint64_t sum = 0;
  for (const auto& w : st.written)
    sum += w.load(std::memory_order_relaxed);
  return sum;
}

// Waits for every stream to connect, lets them warm up, measures, then stops and closes them.
asio::awaitable<void> bulk_control(const options& o, bulk_state& st, double& mib_per_s,
                                   double& measured, contexts& ctx) {
  const auto give_up = clock_type::now() + std::chrono::seconds(10);
  while (st.connected < o.streams && !st.stop && clock_type::now() < give_up)
    co_await pause(std::chrono::milliseconds(5));
  if (st.connected == o.streams) {
    co_await pause(std::chrono::milliseconds(static_cast<long>(o.warmup * 1000)));
    const auto b0 = total_written(st);
    const auto t0 = clock_type::now();
    co_await pause(std::chrono::milliseconds(static_cast<long>(o.seconds * 1000)));
    const auto b1 = total_written(st);
    measured = std::chrono::duration<double>(clock_type::now() - t0).count();
    mib_per_s = static_cast<double>(b1 - b0) / (1024.0 * 1024.0) / measured;
  }
  st.stop = true;
  // A write may be blocked on a stalled peer: closing the socket ends it.
  std::lock_guard lock(st.sockets_mutex);
  for (std::size_t i = 0; i < st.sockets.size(); ++i) {
    if (tcp::socket* s = st.sockets[i])
      asio::post(ctx[i], [s] {
        std::error_code ignored;
        s->close(ignored);
      });
  }
}

int run_bulk(const options& o) {
  // Contexts 1.. carry the streams when there is more than one thread; context 0 the control.
  contexts ctx(o.threads);
  bulk_state st(o.streams);
  bench::failures errors;
  double mib_per_s = 0, measured = 0;
  for (std::size_t i = 0; i < o.streams; ++i)
    asio::co_spawn(ctx[i], bulk_stream(o, i, st, errors), asio::detached);
  asio::co_spawn(ctx[0], bulk_control(o, st, mib_per_s, measured, ctx), asio::detached);
  ctx.run();
  if (st.connected < o.streams && errors.count() == 0)
    errors.add("connect", std::make_error_code(std::errc::timed_out));
  fmt::print(stderr, "socks-load bulk {}: {} streams, {:.1f} s: {:.1f} MiB/s, {} errors{}\n",
             o.label, o.streams, measured, mib_per_s, errors.count(),
             errors.count() ? " (first: " + errors.first() + ")" : "");
  fmt::print(
      "{{\"mode\":\"bulk\",\"label\":{},\"streams\":{},\"threads\":{},\"seconds\":{:.3f},"
      "\"mib_per_s\":{:.1f},\"errors\":{},\"first_error\":{}}}\n",
      bench::json_string(o.label), o.streams, o.threads, measured, mib_per_s, errors.count(),
      bench::json_string(errors.first()));
  std::fflush(stdout);
  return 0;
}

// ---- idle ----

std::atomic<bool> signalled{false};
extern "C" void on_signal(int) {
  signalled = true;
}

// Opens a session without authentication, in hand-written bytes.
struct plain_opener {
  using session = tcp::socket;
  explicit plain_opener(const options& opts) : o(opts) {}
  const options& o;
  asio::awaitable<std::error_code> operator()(std::unique_ptr<session>& s, const char*& step) {
    auto ex = co_await asio::this_coro::executor;
    s = std::make_unique<session>(ex);
    auto ec = co_await open(*s, o, step);
    co_return ec;
  }
};

// The one protecting method the options ask for: the SSL method or GSS-API.
socks5::any_client_auth protecting_method(const options& o, std::error_code& ec) {
  if (!o.gss_ccache.empty()) {
    socks5::GssapiAuth::client_options gss;
    gss.service = "rcmd@localhost";
    gss.ccache = o.gss_ccache;
    gss.levels = {o.gss_level == 1 ? socks5::gss_level::integrity
                                   : socks5::gss_level::confidentiality};
    return socks5::GssapiAuth::client(gss);
  }
  socks5::SslAuth::client_options ssl;
  ssl.ca_file = o.ssl_ca;
  return socks5::SslAuth::client::create(ssl, ec);
}

// Opens a session with a protecting method (SSL or GSS-API), through the library's client.
struct protected_opener {
  using session = socks5::stream<tcp::socket>;
  explicit protected_opener(const options& opts) : o(opts) {}
  const options& o;
  std::optional<socks5::client> proxy;
  asio::awaitable<std::error_code> operator()(std::unique_ptr<session>& s, const char*& step) {
    if (!proxy) {
      std::error_code ec;
      auto method = protecting_method(o, ec);
      if (ec) co_return ec;
      socks5::client_options options;
      options.methods = {std::move(method)};
      auto ex = co_await asio::this_coro::executor;
      proxy.emplace(ex, o.socks->address().to_string(), o.socks->port(), options);
    }
    step = "connect";
    const socks5::address where(o.target);
    auto [ec, stream] = co_await proxy->async_connect(where, use_tuple);
    if (!ec) s = std::make_unique<session>(std::move(stream));
    co_return ec;
  }
};

template <class Opener>
asio::awaitable<void> idle_opener(Opener open_one, std::atomic<std::size_t>& next,
                                  std::vector<std::unique_ptr<typename Opener::session>>& sessions,
                                  bench::failures& errors) {
  std::vector<std::uint8_t> out(16), in(16);
  for (;;) {
    const auto i = next.fetch_add(1);
    if (i >= sessions.size() || signalled) co_return;
    fill(out, i);
    std::unique_ptr<typename Opener::session> s;
    const char* step = "connect";
    auto ec = co_await open_one(s, step);
    if (!ec) {
      step = "echo";
      ec = co_await echo(*s, out, in);
    }
    if (ec) {
      errors.add(step, ec);
      continue;
    }
    sessions[i] = std::move(s);
  }
}

template <class Opener>
int run_idle(const options& o) {
  // SIGINT/SIGTERM stop the opening, or end the holding.
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: read() returns EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  contexts ctx(o.threads);
  std::vector<std::unique_ptr<typename Opener::session>> sessions(o.sessions);
  std::atomic<std::size_t> next{0};
  bench::failures errors;
  const auto start = clock_type::now();
  for (std::size_t i = 0; i < std::min(o.parallel, o.sessions); ++i)
    asio::co_spawn(ctx[i], idle_opener(Opener(o), next, sessions, errors), asio::detached);
  ctx.run();
  const double took = std::chrono::duration<double>(clock_type::now() - start).count();
  const auto opened = static_cast<std::size_t>(
      std::count_if(sessions.begin(), sessions.end(), [](const auto& s) { return s != nullptr; }));
  fmt::print(stderr, "socks-load idle {}: {} of {} sessions open in {:.2f} s, {} errors{}\n",
             o.label, opened, o.sessions, took, errors.count(),
             errors.count() ? " (first: " + errors.first() + ")" : "");
  fmt::print("ready {}\n", opened);
  std::fflush(stdout);

  char buf[256];
  while (!signalled) {
    const auto n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) break;
  }
  sessions.clear();  // closes them all
  fmt::print(
      "{{\"mode\":\"idle\",\"label\":{},\"requested\":{},\"opened\":{},\"open_seconds\":{:.3f},"
      "\"errors\":{},\"first_error\":{}}}\n",
      bench::json_string(o.label), o.sessions, opened, took, errors.count(),
      bench::json_string(errors.first()));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  bench::raise_fd_limit();
  ::signal(SIGPIPE, SIG_IGN);
  if (o.mode == "cps") return run_cps(o);
  if (o.mode == "bulk") return run_bulk(o);
  if (o.protected_idle()) return run_idle<protected_opener>(o);
  return run_idle<plain_opener>(o);
}
