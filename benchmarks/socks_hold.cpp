// socks-hold: opens N CONNECT sessions through a SOCKS5 proxy to an echo target, holds them all
// for D seconds while every session sends a message of pseudo-random length and content every
// few seconds and checks the echo byte for byte, then half-closes each one and checks that the
// close comes back through the proxy with nothing after the data. The server's RSS and
// descriptors are read from /proc (--pid, repeatable: proxies sharing a port are summed).
// A human summary goes to stderr, one JSON line to stdout; exit status 1 when a session failed,
// a byte differed or fewer than N sessions opened, 3 when the run stopped making progress.
//
//   socks-hold --socks ADDR:PORT --target ADDR:PORT [--sessions N] [--seconds D]
//              [--interval S] [--max-message BYTES] [--parallel P] [--threads T] [--pid PID]...
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
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

#include "bench.hpp"
#include "cli.hpp"
#include "load_checks.hpp"
#include "process_stats.hpp"
#include "socks5/client.hpp"
#include "socks5/relay.hpp"

namespace {

using asio::ip::tcp;
using bench::clock_type;
using bench::contexts;
using session_stream = socks5::stream<tcp::socket>;
using socks5::detail::use_tuple;

struct options {
  tcp::endpoint socks;
  tcp::endpoint target;
  std::size_t sessions = 1000;
  double seconds = 10;
  double interval = 3;
  std::size_t max_message = 1024;
  std::size_t parallel = 128;
  std::size_t threads = 1;
  std::vector<pid_t> pids;
};

options parse(int argc, char** argv) {
  constexpr std::size_t many = 1u << 30;
  options o;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    const std::string& a = *opt;
    if (a == "--help")
      cli::usage(
          "socks-hold --socks ADDR:PORT --target ADDR:PORT [--sessions N] [--seconds D]\n"
          "           [--interval S] [--max-message BYTES] [--parallel P] [--threads T]\n"
          "           [--pid PID]...\n");
    else if (a == "--socks")
      o.socks = cli::peer_endpoint(args.value());
    else if (a == "--target")
      o.target = cli::peer_endpoint(args.value());
    else if (a == "--sessions")
      o.sessions = cli::number(args.value(), 0, many);
    else if (a == "--seconds")
      o.seconds = cli::real(args.value(), 0, 1e6);
    else if (a == "--interval")
      o.interval = cli::real(args.value(), 0.01, 1e6);
    else if (a == "--max-message")
      o.max_message = cli::number(args.value(), 1, many);
    else if (a == "--parallel")
      o.parallel = cli::number(args.value(), 1, many);
    else if (a == "--threads")
      o.threads = cli::number(args.value(), 1, 1024);
    else if (a == "--pid")
      o.pids.push_back(static_cast<pid_t>(cli::number(args.value(), 1, 1u << 22)));
    else
      cli::fail("unknown option '{}' (see --help)", a);
  }
  cli::no_more(args);
  if (o.socks.port() == 0 || o.target.port() == 0)
    cli::fail("--socks ADDR:PORT and --target ADDR:PORT are required");
  return o;
}

struct run_state {
  explicit run_state(std::size_t n, std::chrono::seconds stall) : sessions(n), dog(stall) {}
  std::vector<std::unique_ptr<session_stream>> sessions;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> opened{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes_verified{0};
  std::atomic<std::size_t> closed_cleanly{0};
  bench::failures errors;
  bench::watchdog dog;
};

asio::awaitable<void> opener(const options& o, run_state& st) {
  auto ex = co_await asio::this_coro::executor;
  const socks5::client proxy(ex, o.socks.address().to_string(), o.socks.port());
  const socks5::address target(o.target);
  for (;;) {
    const auto i = st.next.fetch_add(1);
    if (i >= st.sessions.size()) co_return;
    auto [ec, s] = co_await proxy.async_connect(target, use_tuple);
    st.dog.progress();
    if (ec) {
      st.errors.add("open", ec);
      continue;
    }
    st.sessions[i] = std::make_unique<session_stream>(std::move(s));
    ++st.opened;
  }
}

// Every `interval`, from a random offset within the first one, a message of random length;
// the echo must match it exactly.
asio::awaitable<void> exchange(const options& o, session_stream& s, std::size_t id,
                               clock_type::time_point from, clock_type::time_point until,
                               run_state& st) {
  bench::pattern rng(id);
  const auto interval =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.interval));
  auto next = from + std::chrono::duration_cast<clock_type::duration>(
                         interval * (static_cast<double>(rng.next() % 1000) / 1000.0));
  asio::steady_timer timer(s.get_executor());
  std::vector<std::uint8_t> out, in;
  for (; next < until; next += interval) {
    timer.expires_at(next);
    auto [wait_ec] = co_await timer.async_wait(use_tuple);
    (void)wait_ec;
    out.resize(rng.between(1, o.max_message));
    rng.fill(out);
    in.assign(out.size(), 0);
    auto [write_ec, written] = co_await asio::async_write(s, asio::buffer(out), use_tuple);
    if (write_ec) {
      st.errors.add(fmt::format("session {} write", id), write_ec);
      co_return;
    }
    auto [read_ec, got] = co_await asio::async_read(s, asio::buffer(in), use_tuple);
    if (read_ec) {
      st.errors.add(fmt::format("session {} read", id), read_ec);
      co_return;
    }
    if (in != out) {
      st.errors.add(fmt::format("session {}: echo differs from what was sent", id));
      co_return;
    }
    st.bytes_verified += got;
    ++st.messages;
    st.dog.progress();
  }
}

// Half-close; the target closes its side in turn, and that must arrive with no further data.
asio::awaitable<void> finish(session_stream& s, std::size_t id, run_state& st) {
  std::error_code ec;
  s.next_layer().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    st.errors.add(fmt::format("session {} shutdown", id), ec);
    co_return;
  }
  std::array<std::uint8_t, 64> rest{};
  auto [read_ec, n] = co_await s.async_read_some(asio::buffer(rest), use_tuple);
  st.dog.progress();
  if (n != 0)
    st.errors.add(fmt::format("session {}: {} unexpected octets before the close", id, n));
  else if (read_ec != asio::error::eof)
    st.errors.add(fmt::format("session {} close", id), read_ec);
  else
    ++st.closed_cleanly;
  socks5::close_stream(s);
}

asio::awaitable<void> sample_at(clock_type::time_point when, const std::vector<pid_t>& pids,
                                bench::process_sample& out) {
  asio::steady_timer timer(co_await asio::this_coro::executor, when);
  auto [ec] = co_await timer.async_wait(use_tuple);
  (void)ec;
  out = bench::sample(pids);
}

// A few hundred sessions opened, used and closed before the baseline is taken, so that what
// the server makes once and keeps (event descriptors, pooled pipes, allocator arenas) is not
// taken for a leak. Returns what went wrong, or "".
std::string warm_up(const options& o, contexts& ctx) {
  run_state warm(std::min<std::size_t>(o.sessions, 256), std::chrono::seconds(60));
  warm.dog.phase("warming up");
  options quick = o;
  quick.interval = 0.25;
  for (std::size_t i = 0; i < std::min(o.parallel, warm.sessions.size()); ++i)
    asio::co_spawn(ctx[i], opener(quick, warm), asio::detached);
  ctx.run();
  const auto from = clock_type::now();
  for (std::size_t i = 0; i < warm.sessions.size(); ++i)
    if (auto& s = warm.sessions[i])
      asio::co_spawn(s->get_executor(),
                     exchange(quick, *s, i, from, from + std::chrono::seconds(1), warm),
                     asio::detached);
  ctx.run();
  for (std::size_t i = 0; i < warm.sessions.size(); ++i)
    if (auto& s = warm.sessions[i])
      asio::co_spawn(s->get_executor(), finish(*s, i, warm), asio::detached);
  ctx.run();
  if (warm.opened < warm.sessions.size() || warm.errors.count())
    return fmt::format("warm-up: {} of {} sessions opened, {} errors (first: {})",
                       warm.opened.load(), warm.sessions.size(), warm.errors.count(),
                       warm.errors.first());
  return {};
}

double mib(long kib) {
  return static_cast<double>(kib) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  bench::raise_fd_limit();
  ::signal(SIGPIPE, SIG_IGN);
  contexts ctx(o.threads);
  std::vector<std::string> problems;
  if (auto problem = warm_up(o, ctx); !problem.empty()) problems.push_back(problem);
  run_state st(o.sessions, std::chrono::seconds(60));
  const auto before = bench::quiet(o.pids, std::chrono::seconds(10));

  st.dog.phase("opening sessions");
  const auto open_start = clock_type::now();
  for (std::size_t i = 0; i < std::min(o.parallel, o.sessions); ++i)
    asio::co_spawn(ctx[i], opener(o, st), asio::detached);
  ctx.run();
  const double open_seconds = std::chrono::duration<double>(clock_type::now() - open_start).count();
  const auto opened = bench::sample(o.pids);
  // How the kernel spread the sessions over processes sharing the port.
  std::string sockets_each;
  for (auto pid : o.pids)
    sockets_each +=
        fmt::format("{}{}", sockets_each.empty() ? "" : ",", proc_status::count_fds(pid).sockets);
  fmt::print(stderr,
             "socks-hold: {} of {} sessions open in {:.1f} s, server RSS {:.1f} MiB, sockets per "
             "server process [{}]\n",
             st.opened.load(), o.sessions, open_seconds, mib(opened.rss_kib), sockets_each);

  st.dog.phase("holding sessions");
  const auto hold_start = clock_type::now();
  const auto hold_end = hold_start + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(o.seconds));
  bench::process_sample middle;
  asio::co_spawn(ctx[0], sample_at(hold_start + (hold_end - hold_start) / 2, o.pids, middle),
                 asio::detached);
  for (std::size_t i = 0; i < st.sessions.size(); ++i)
    if (auto& s = st.sessions[i])
      asio::co_spawn(s->get_executor(), exchange(o, *s, i, hold_start, hold_end, st),
                     asio::detached);
  ctx.run();
  const double held = std::chrono::duration<double>(clock_type::now() - hold_start).count();
  const auto end = bench::sample(o.pids);

  st.dog.phase("closing sessions");
  for (std::size_t i = 0; i < st.sessions.size(); ++i)
    if (auto& s = st.sessions[i])
      asio::co_spawn(s->get_executor(), finish(*s, i, st), asio::detached);
  ctx.run();
  st.sessions.clear();
  const auto after = bench::settle(o.pids, before, std::chrono::seconds(30));

  if (st.opened < o.sessions)
    problems.push_back(fmt::format("{} of {} sessions opened", st.opened.load(), o.sessions));
  if (st.errors.count())
    problems.push_back(fmt::format("{} errors (first: {})", st.errors.count(), st.errors.first()));
  if (st.closed_cleanly < st.opened)
    problems.push_back(fmt::format("{} of {} sessions closed cleanly", st.closed_cleanly.load(),
                                   st.opened.load()));
  if (!o.pids.empty() && !after.all_alive) problems.push_back("a server process has gone");
  if (!o.pids.empty())
    if (auto leak = bench::descriptor_leak(before, after, o.pids.size()); !leak.empty())
      problems.push_back("server descriptors: " + leak);

  fmt::print(stderr,
             "socks-hold: {} sessions held {:.1f} s, {} messages, {} bytes verified, {} errors; "
             "server RSS {:.1f} MiB before, {:.1f} open, {:.1f} mid, {:.1f} end, {:.1f} after "
             "close; descriptors {} before, {} open, {} after\n",
             st.opened.load(), held, st.messages.load(), st.bytes_verified.load(),
             st.errors.count(), mib(before.rss_kib), mib(opened.rss_kib), mib(middle.rss_kib),
             mib(end.rss_kib), mib(after.rss_kib), before.fds, opened.fds, after.fds);
  for (const auto& p : problems)
    fmt::print(stderr, "socks-hold: FAILED: {}\n", p);

  std::string problem_list;
  for (const auto& p : problems)
    problem_list += (problem_list.empty() ? "" : ",") + bench::json_string(p);
  fmt::print(
      "{{\"mode\":\"hold\",\"requested\":{},\"opened\":{},\"open_seconds\":{:.3f},"
      "\"held_seconds\":{:.3f},\"messages\":{},\"bytes_verified\":{},\"errors\":{},"
      "\"closed_cleanly\":{},\"rss_kib\":{{\"before\":{},\"open\":{},\"mid\":{},\"end\":{},"
      "\"after\":{}}},\"fds\":{{\"before\":{},\"open\":{},\"after\":{}}},\"processes\":{},"
      "\"sockets_per_process\":[{}],\"ok\":{},\"problems\":[{}]}}\n",
      o.sessions, st.opened.load(), open_seconds, held, st.messages.load(),
      st.bytes_verified.load(), st.errors.count(), st.closed_cleanly.load(), before.rss_kib,
      opened.rss_kib, middle.rss_kib, end.rss_kib, after.rss_kib, before.fds, opened.fds, after.fds,
      o.pids.size(), sockets_each, problems.empty() ? "true" : "false", problem_list);
  return problems.empty() ? 0 : 1;
}
