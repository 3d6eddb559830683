// Shared pieces of the benchmarks: a sink target, a pusher, timing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "socks5/auth/driver.hpp"

namespace bench {

using clock_type = std::chrono::steady_clock;

inline double mib_per_second(std::size_t bytes, clock_type::duration d) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0) / std::chrono::duration<double>(d).count();
}

// An io_context on a thread of its own, as a separate process would run.
class background {
 public:
  background() : work_(asio::make_work_guard(ctx_)), thread_([this] { ctx_.run(); }) {}
  ~background() {
    work_.reset();
    ctx_.stop();
    thread_.join();
  }
  asio::io_context& context() { return ctx_; }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// One io_context per thread of the load generators; work is spread over them in turn.
class contexts {
 public:
  explicit contexts(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      list_.push_back(std::make_unique<asio::io_context>(1));
  }
  asio::io_context& operator[](std::size_t i) { return *list_[i % list_.size()]; }
  // Runs every context on a thread of its own until each runs out of work.
  void run() {
    std::vector<std::thread> threads;
    for (auto& c : list_)
      threads.emplace_back([&c] {
        c->restart();
        c->run();
      });
    for (auto& t : threads)
      t.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> list_;
};

// A target that reads and discards everything.
class sink {
 public:
  explicit sink(asio::io_context& ctx) : acceptor_(ctx, {asio::ip::address_v4::loopback(), 0}) {
    asio::co_spawn(ctx, accept_loop(), asio::detached);
  }
  asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(socks5::detail::use_tuple);
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), drain(std::move(s)), asio::detached);
    }
  }
  static asio::awaitable<void> drain(asio::ip::tcp::socket s) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
      if (ec) co_return;
    }
  }
  asio::ip::tcp::acceptor acceptor_;
};

// Writes `total` octets through `s`; returns how long it took.
template <class Stream>
asio::awaitable<clock_type::duration> push(Stream& s, std::size_t total) {
  std::vector<char> buf(256 * 1024, 'x');
  const auto start = clock_type::now();
  std::size_t sent = 0;
  while (sent < total) {
    const auto chunk = std::min(buf.size(), total - sent);
    auto [ec, n] =
        co_await asio::async_write(s, asio::buffer(buf.data(), chunk), socks5::detail::use_tuple);
    if (ec) throw std::system_error(ec);
    sent += n;
  }
  co_return clock_type::now() - start;
}

// Runs `op` on `ctx` to completion and returns its result.
template <class T>
T run(asio::io_context& ctx, asio::awaitable<T> op) {
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ctx, std::move(op), [&](std::exception_ptr e, T v) {
    error = e;
    out = v;
  });
  ctx.restart();
  ctx.run();
  if (error) std::rethrow_exception(error);
  return *out;
}

}  // namespace bench
