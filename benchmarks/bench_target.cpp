// bench-target: the targets for load tests, in a process of their own: an echo port and a sink
// (read and discard) port on 127.0.0.1. Prints {"echo":PORT,"sink":PORT} on stdout once both
// listen; runs until SIGINT or SIGTERM.
//   bench-target [--echo-port P] [--sink-port P] [--threads N]
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "cli.hpp"

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo(tcp::socket s) {
  // Not zeroed: an idle connection touches no more of it than it receives.
  constexpr std::size_t size = 16 * 1024;
  std::unique_ptr<char[]> buf(new char[size]);
  for (;;) {
    auto [e1, n] = co_await s.async_read_some(asio::buffer(buf.get(), size), use_tuple);
    if (e1) break;
    auto [e2, m] = co_await asio::async_write(s, asio::buffer(buf.get(), n), use_tuple);
    if (e2) break;
  }
  std::error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> sink(tcp::socket s) {
  constexpr std::size_t size = 256 * 1024;
  std::unique_ptr<char[]> buf(new char[size]);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf.get(), size), use_tuple);
    if (ec) break;
  }
}

template <class Session>
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Session session) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {  // e.g. out of descriptors: wait for some to be freed
      asio::steady_timer t(ex, std::chrono::milliseconds(10));
      auto [e] = co_await t.async_wait(use_tuple);
      (void)e;
      continue;
    }
    std::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(ex, session(std::move(s)), asio::detached);
  }
}

tcp::acceptor make_acceptor(asio::io_context& ctx, unsigned short port) {
  tcp::acceptor a(ctx);
  const tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short echo_port = 0, sink_port = 0;
  std::size_t threads = 2;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    if (*opt == "--help")
      cli::usage("bench-target [--echo-port N] [--sink-port N] [--threads N]\n");
    else if (*opt == "--echo-port")
      echo_port = static_cast<unsigned short>(cli::number(args.value(), 0, 65535));
    else if (*opt == "--sink-port")
      sink_port = static_cast<unsigned short>(cli::number(args.value(), 0, 65535));
    else if (*opt == "--threads")
      threads = cli::number(args.value(), 1, 1024);
    else
      cli::fail("unknown option '{}' (see --help)", *opt);
  }
  cli::no_more(args);
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context ctx(static_cast<int>(threads));
  tcp::acceptor echo_acceptor = make_acceptor(ctx, echo_port);
  tcp::acceptor sink_acceptor = make_acceptor(ctx, sink_port);
  asio::co_spawn(ctx, accept_loop(echo_acceptor, echo), asio::detached);
  asio::co_spawn(ctx, accept_loop(sink_acceptor, sink), asio::detached);
  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { ctx.stop(); });

  fmt::print("{{\"echo\":{},\"sink\":{}}}\n", echo_acceptor.local_endpoint().port(),
             sink_acceptor.local_endpoint().port());
  std::fflush(stdout);

  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < threads; ++i)
    pool.emplace_back([&] { ctx.run(); });
  ctx.run();
  for (auto& t : pool)
    t.join();
  return 0;
}
