// socks-soak: every method and every command of the client library against one SOCKS5 proxy
// for D seconds: CONNECT, BIND and UDP ASSOCIATE, each with no authentication, username and
// password, GSS-API at levels 1 and 2, and the SSL method. C workers each run one operation
// after another, cycling through the fifteen kinds; every byte and datagram relayed is checked.
// The proxy's RSS and descriptors are sampled from /proc (--pid) every few seconds: the largest
// RSS of the last third of the run must stay within --tolerance percent (default 10) plus
// --slack MiB (default 2: what is in flight when a sample is taken) of the first third's, and the
// descriptors must come back to where they were. Zero errors are required.
//
//   socks-soak --socks ADDR:PORT --user NAME:PASSWORD --ccache FILE:PATH --ca PEM
//              [--seconds D] [--concurrency C] [--pid PID]... [--sample S] [--tolerance PCT]
//              [--slack MIB]
// GSS-API authenticates to rcmd@localhost with the realm of KRB5_CONFIG; TLS checks the name
// localhost. A table goes to stderr, one JSON line to stdout; exit status 1 on any failure,
// 3 when the run stopped making progress.
#include <signal.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include "cli.hpp"
#include "echo_server.hpp"
#include "load_checks.hpp"
#include "process_stats.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/bind.hpp"
#include "socks5/udp.hpp"
#include "udp_echo.hpp"

namespace {

using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using socks5::detail::use_tuple;

struct options {
  tcp::endpoint socks;
  std::string user, password, ccache, ca;
  double seconds = 180;
  std::size_t concurrency = 24;
  std::vector<pid_t> pids;
  double sample = 3;
  double tolerance = 10;  // percent
  double slack = 2;       // MiB, for the data in flight at the moment of a sample
};

options parse(int argc, char** argv) {
  options o;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    const std::string& a = *opt;
    if (a == "--help") {
      cli::usage(
          "socks-soak --socks ADDR:PORT --user NAME:PASSWORD --ccache FILE:PATH --ca PEM\n"
          "           [--seconds D] [--concurrency C] [--pid PID]... [--sample S]\n"
          "           [--tolerance PCT] [--slack MIB]\n");
    } else if (a == "--socks") {
      o.socks = cli::peer_endpoint(args.value());
    } else if (a == "--user") {
      const std::string v = args.value();
      const auto colon = v.find(':');
      if (colon == std::string::npos) cli::fail("--user is NAME:PASSWORD");
      o.user = v.substr(0, colon);
      o.password = v.substr(colon + 1);
    } else if (a == "--ccache") {
      o.ccache = args.value();
    } else if (a == "--ca") {
      o.ca = args.value();
    } else if (a == "--seconds") {
      o.seconds = cli::real(args.value(), 0, 1e7);
    } else if (a == "--concurrency") {
      o.concurrency = cli::number(args.value(), 1, 1u << 20);
    } else if (a == "--pid") {
      o.pids.push_back(static_cast<pid_t>(cli::number(args.value(), 1, 1u << 22)));
    } else if (a == "--sample") {
      o.sample = cli::real(args.value(), 0.1, 1e6);
    } else if (a == "--tolerance") {
      o.tolerance = cli::real(args.value(), 0, 1e6);
    } else if (a == "--slack") {
      o.slack = cli::real(args.value(), 0, 1e6);
    } else {
      cli::fail("unknown option '{}' (see --help)", a);
    }
  }
  cli::no_more(args);
  if (o.socks.port() == 0 || o.user.empty() || o.ccache.empty() || o.ca.empty())
    cli::fail("--socks, --user, --ccache and --ca are required");
  return o;
}

const std::array<const char*, 5> method_names{"none", "userpass", "gssapi-1", "gssapi-2", "ssl"};
const std::array<const char*, 3> command_names{"connect", "bind", "udp"};
constexpr std::size_t kinds = method_names.size() * command_names.size();

// One socks5::client per method, each offering that method alone.
std::vector<socks5::client> make_clients(asio::any_io_executor ex, const options& o) {
  std::vector<socks5::client> clients;
  const auto host = o.socks.address().to_string();
  auto with = [&](socks5::any_client_auth method) {
    socks5::client_options opts;
    opts.methods = {std::move(method)};
    clients.emplace_back(ex, host, o.socks.port(), std::move(opts));
  };
  with(socks5::NoAuth::client{});
  with(socks5::UserPassAuth::client{o.user, o.password});
  for (auto level : {socks5::gss_level::integrity, socks5::gss_level::confidentiality}) {
    socks5::GssapiAuth::client_options gss;
    gss.service = "rcmd@localhost";
    gss.ccache = o.ccache;
    gss.levels = {level};
    with(socks5::GssapiAuth::client(gss));
  }
  socks5::SslAuth::client_options ssl;
  ssl.ca_file = o.ca;
  ssl.server_name = "localhost";
  ssl.udp_naked = true;
  std::error_code ec;
  auto ssl_client = socks5::SslAuth::client::create(ssl, ec);
  if (ec) cli::fail("cannot use the CA file '{}': {}", o.ca, ec.message());
  with(std::move(ssl_client));
  return clients;
}

struct kind_stats {
  std::uint64_t operations = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes_verified = 0;
  std::uint64_t datagrams_verified = 0;
  std::string first_error;
};

// What one operation did: the error that ended it and the step it ended in, or the data checked.
struct outcome {
  std::error_code ec;
  std::string step;
  std::uint64_t bytes = 0;
  std::uint64_t datagrams = 0;
};

// Built outside the coroutines: GCC 12 rejects string literals initialising aggregates in one.
outcome failed(std::error_code ec, const char* step) {
  outcome r;
  r.ec = ec;
  r.step = step;
  return r;
}

std::error_code mismatch() {
  return std::make_error_code(std::errc::illegal_byte_sequence);
}

// Sends `size` pseudo-random octets through `s` and reads them back from `from` (the same
// stream for an echo, the other end for a BIND pair); they must match.
template <class Out, class In>
asio::awaitable<std::error_code> send_and_check(Out& out, In& in, std::size_t size,
                                                bench::pattern& rng) {
  std::vector<std::uint8_t> sent(size), received(size);
  rng.fill(sent);
  auto [write_ec, written] = co_await asio::async_write(out, asio::buffer(sent), use_tuple);
  if (write_ec) co_return write_ec;
  auto [read_ec, got] = co_await asio::async_read(in, asio::buffer(received), use_tuple);
  if (read_ec) co_return read_ec;
  co_return sent == received ? std::error_code{} : mismatch();
}

asio::awaitable<outcome> run_connect(const socks5::client& c, tcp::endpoint echo,
                                     bench::pattern& rng) {
  outcome r;
  const socks5::address target(echo);
  auto [ec, s] = co_await c.async_connect(target, use_tuple);
  if (ec) co_return failed(ec, "connect");
  const auto rounds = rng.between(1, 4);
  for (std::size_t i = 0; i < rounds; ++i) {
    const auto size = rng.between(1, 48 * 1024);
    if (auto e = co_await send_and_check(s, s, size, rng)) co_return failed(e, "echo");
    r.bytes += size;
  }
  if (!s.is_protected()) {
    // The target closes when it sees the end: that must come back with nothing after the data.
    std::error_code shut_ec;
    s.next_layer().shutdown(tcp::socket::shutdown_send, shut_ec);
    std::array<std::uint8_t, 16> rest{};
    auto [read_ec, n] = co_await s.async_read_some(asio::buffer(rest), use_tuple);
    if (shut_ec) co_return failed(shut_ec, "shutdown");
    if (n != 0) co_return failed(mismatch(), "close");
    if (read_ec != asio::error::eof) co_return failed(read_ec, "close");
  }
  socks5::close_stream(s);
  co_return r;
}

asio::awaitable<outcome> run_bind(const socks5::client& c, bench::pattern& rng) {
  outcome r;
  const socks5::address expected(asio::ip::address_v4::loopback(), 0);
  auto [ec, listener] = co_await c.async_bind(expected, use_tuple);
  if (ec) co_return failed(ec, "bind");
  tcp::socket peer(c.executor());
  auto [connect_ec] = co_await peer.async_connect(listener.announce().tcp_endpoint(), use_tuple);
  if (connect_ec) co_return failed(connect_ec, "peer connect");
  socks5::address peer_seen;
  auto [accept_ec, s] = co_await listener.async_accept(peer_seen, use_tuple);
  if (accept_ec) co_return failed(accept_ec, "second reply");
  if (peer_seen != socks5::address(peer.local_endpoint()))
    co_return failed(mismatch(), "second reply names another peer");
  const auto to_client = rng.between(1, 32 * 1024);
  if (auto e = co_await send_and_check(peer, s, to_client, rng))
    co_return failed(e, "peer to client");
  const auto to_peer = rng.between(1, 32 * 1024);
  if (auto e = co_await send_and_check(s, peer, to_peer, rng))
    co_return failed(e, "client to peer");
  r.bytes = to_client + to_peer;
  socks5::close_stream(s);
  co_return r;
}

asio::awaitable<outcome> run_udp(const socks5::client& c, asio::ip::udp::endpoint echo,
                                 bench::pattern& rng) {
  outcome r;
  auto associated = co_await c.async_udp_associate(use_tuple);
  if (std::get<0>(associated)) co_return failed(std::get<0>(associated), "associate");
  auto& association = std::get<1>(associated);
  // A datagram lost for good would leave the receive waiting: closing the association ends it.
  asio::steady_timer limit(c.executor(), std::chrono::seconds(20));
  limit.async_wait([&association](std::error_code e) {
    if (!e) association.close();
  });
  const socks5::address target(echo);
  std::vector<std::uint8_t> sent, received(65536);
  const auto count = rng.between(1, 6);
  for (std::size_t i = 0; i < count; ++i) {
    sent.resize(rng.between(1, 1400));
    rng.fill(sent);
    auto [send_ec, n] = co_await association.async_send_to(asio::buffer(sent), target, use_tuple);
    if (send_ec) co_return failed(send_ec, "send datagram");
    socks5::address from;
    auto [receive_ec, got] =
        co_await association.async_receive_from(asio::buffer(received), from, use_tuple);
    if (receive_ec) co_return failed(receive_ec, "receive datagram");
    if (from != target || got != sent.size() ||
        !std::equal(sent.begin(), sent.end(), received.begin()))
      co_return failed(mismatch(), "datagram differs");
    r.bytes += got;
    ++r.datagrams;
  }
  limit.cancel();
  association.close();
  co_return r;
}

struct soak_state {
  std::vector<socks5::client> clients;
  tcp::endpoint echo;
  asio::ip::udp::endpoint udp_echo;
  clock_type::time_point until;
  std::array<kind_stats, kinds> stats;
  bench::watchdog dog{std::chrono::seconds(60)};
};

// Runs operations until `st.until`, or `limit` of them.
asio::awaitable<void> worker(std::size_t id, soak_state& st, std::size_t limit) {
  bench::pattern rng(id + 1);
  for (std::size_t iteration = 0; clock_type::now() < st.until && iteration < limit; ++iteration) {
    const auto kind = (id + iteration) % kinds;
    const auto& c = st.clients[kind % method_names.size()];
    const auto command = kind / method_names.size();
    outcome r;
    if (command == 0)
      r = co_await run_connect(c, st.echo, rng);
    else if (command == 1)
      r = co_await run_bind(c, rng);
    else
      r = co_await run_udp(c, st.udp_echo, rng);
    auto& k = st.stats[kind];
    ++k.operations;
    st.dog.progress();
    if (r.ec) {
      ++k.errors;
      if (k.first_error.empty()) k.first_error = r.step + ": " + r.ec.message();
      continue;
    }
    k.bytes_verified += r.bytes;
    k.datagrams_verified += r.datagrams;
  }
}

struct timed_sample {
  double at = 0;
  bench::process_sample s;
};

asio::awaitable<void> sampler(const options& o, clock_type::time_point start,
                              clock_type::time_point until, std::vector<timed_sample>& out) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto step =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.sample));
  for (auto next = start + step; next <= until; next += step) {
    timer.expires_at(next);
    auto [ec] = co_await timer.async_wait(use_tuple);
    (void)ec;
    out.push_back(
        {std::chrono::duration<double>(clock_type::now() - start).count(), bench::sample(o.pids)});
  }
}

// The largest RSS among the samples taken in [from, to) seconds.
long max_rss(const std::vector<timed_sample>& samples, double from, double to) {
  long m = 0;
  for (const auto& t : samples)
    if (t.at >= from && t.at < to) m = std::max(m, t.s.rss_kib);
  return m;
}

double mib(long kib) {
  return static_cast<double>(kib) / 1024.0;
}

int report(const options& o, const soak_state& st, const std::vector<timed_sample>& samples,
           const bench::process_sample& baseline, const bench::process_sample& after, double took) {
  std::vector<std::string> problems;
  std::uint64_t operations = 0, errors = 0, bytes = 0, datagrams = 0;
  fmt::print(stderr, "{:<10} {:<8} {:>10} {:>8} {:>14} {:>10}\n", "method", "command", "operations",
             "errors", "bytes checked", "datagrams");
  std::string kinds_json;
  for (std::size_t kind = 0; kind < kinds; ++kind) {
    const auto& k = st.stats[kind];
    const char* method = method_names[kind % method_names.size()];
    const char* command = command_names[kind / method_names.size()];
    fmt::print(stderr, "{:<10} {:<8} {:>10} {:>8} {:>14} {:>10}{}\n", method, command, k.operations,
               k.errors, k.bytes_verified, k.datagrams_verified,
               k.first_error.empty() ? "" : "  first error: " + k.first_error);
    operations += k.operations;
    errors += k.errors;
    bytes += k.bytes_verified;
    datagrams += k.datagrams_verified;
    if (k.errors)
      problems.push_back(
          fmt::format("{} {}: {} errors (first: {})", method, command, k.errors, k.first_error));
    if (k.operations == 0) problems.push_back(fmt::format("{} {}: never ran", method, command));
    kinds_json += fmt::format(
        "{}{{\"method\":\"{}\",\"command\":\"{}\",\"operations\":{},"
        "\"errors\":{},\"bytes\":{},\"datagrams\":{}}}",
        kind ? "," : "", method, command, k.operations, k.errors, k.bytes_verified,
        k.datagrams_verified);
  }

  // Memory is flat when the last third of the run peaks no higher than the first third did,
  // give or take the tolerance.
  const long first_third = max_rss(samples, 0, took / 3);
  const long last_third = max_rss(samples, 2 * took / 3, took + 1);
  const long limit = static_cast<long>(static_cast<double>(first_third) * (1 + o.tolerance / 100) +
                                       o.slack * 1024);
  long peak_fds = 0;
  for (const auto& t : samples)
    peak_fds = std::max(peak_fds, t.s.fds);
  if (!o.pids.empty()) {
    if (samples.size() < 3)
      problems.push_back("too few samples of the proxy for a memory verdict");
    else if (last_third > limit)
      problems.push_back(fmt::format(
          "memory grew: last third peaked at {:.1f} MiB, first third at {:.1f} MiB (+{}% + {} "
          "MiB allowed)",
          mib(last_third), mib(first_third), o.tolerance, o.slack));
    if (!after.all_alive) problems.push_back("the proxy has gone");
    if (auto leak = bench::descriptor_leak(baseline, after, o.pids.size()); !leak.empty())
      problems.push_back("proxy descriptors: " + leak);
  }
  fmt::print(stderr,
             "socks-soak: {:.1f} s, {} workers: {} operations, {} errors, {} bytes and {} "
             "datagrams checked; proxy RSS {:.1f} MiB at start, peaks {:.1f} MiB in the first "
             "third and {:.1f} MiB in the last, {:.1f} MiB at the end; descriptors {} at start, "
             "at most {} during, {} at the end ({} samples)\n",
             took, o.concurrency, operations, errors, bytes, datagrams, mib(baseline.rss_kib),
             mib(first_third), mib(last_third), mib(after.rss_kib), baseline.fds, peak_fds,
             after.fds, samples.size());
  std::string samples_json;
  for (const auto& t : samples)
    samples_json += fmt::format("{}[{:.1f},{},{}]", samples_json.empty() ? "" : ",", t.at,
                                t.s.rss_kib, t.s.fds);
  std::string problem_list;
  for (const auto& p : problems) {
    fmt::print(stderr, "socks-soak: FAILED: {}\n", p);
    problem_list += (problem_list.empty() ? "" : ",") + bench::json_string(p);
  }
  fmt::print(
      "{{\"mode\":\"soak\",\"seconds\":{:.3f},\"concurrency\":{},\"operations\":{},"
      "\"errors\":{},\"bytes_verified\":{},\"datagrams_verified\":{},\"rss_kib\":{{"
      "\"start\":{},\"first_third_max\":{},\"last_third_max\":{},\"end\":{}}},"
      "\"fds\":{{\"start\":{},\"max\":{},\"end\":{}}},\"tolerance_percent\":{},"
      "\"slack_mib\":{},"
      "\"kinds\":[{}],\"samples\":[{}],\"ok\":{},\"problems\":[{}]}}\n",
      took, o.concurrency, operations, errors, bytes, datagrams, baseline.rss_kib, first_third,
      last_third, after.rss_kib, baseline.fds, peak_fds, after.fds, o.tolerance, o.slack,
      kinds_json, samples_json, problems.empty() ? "true" : "false", problem_list);
  return problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  bench::raise_fd_limit();
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context ctx(1);
  test::echo_server echo(ctx);
  test::udp_echo udp_echo(ctx);
  soak_state st;
  st.clients = make_clients(ctx.get_executor(), o);
  st.echo = echo.endpoint();
  st.udp_echo = udp_echo.endpoint();

  // The workers of one phase; the targets serve for ever, so the phase is over when the last
  // worker is.
  auto run_workers = [&](std::size_t limit) {
    std::size_t workers_left = o.concurrency;
    for (std::size_t i = 0; i < o.concurrency; ++i)
      asio::co_spawn(ctx, worker(i, st, limit), [&workers_left](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
        --workers_left;
      });
    while (workers_left > 0)
      ctx.run_one();
  };

  // Every kind a few times before the baseline, so that what the proxy makes once and keeps
  // (event descriptors, pooled pipes, allocator arenas, TLS and Kerberos state) is not taken
  // for a leak. Errors count as in the run.
  st.dog.phase("warming up");
  st.until = clock_type::time_point::max();
  run_workers(kinds);
  // The targets live in this process: they must go on serving while the proxy is watched, or
  // the proxy would wait for their side of the last sessions' close.
  const auto serve_targets = [&ctx] {
    ctx.restart();
    ctx.run_for(std::chrono::milliseconds(100));
  };
  const auto baseline = bench::quiet(o.pids, std::chrono::seconds(10), serve_targets);

  st.dog.phase("soaking");
  const auto start = clock_type::now();
  st.until = start + std::chrono::duration_cast<clock_type::duration>(
                         std::chrono::duration<double>(o.seconds));
  std::vector<timed_sample> samples;
  if (!o.pids.empty()) asio::co_spawn(ctx, sampler(o, start, st.until, samples), asio::detached);
  run_workers(std::numeric_limits<std::size_t>::max());
  const double took = std::chrono::duration<double>(clock_type::now() - start).count();
  st.dog.phase("waiting for the proxy to close its sockets");
  const auto after = bench::settle(o.pids, baseline, std::chrono::seconds(30), serve_targets);
  return report(o, st, samples, baseline, after, took);
}
