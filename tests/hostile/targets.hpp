// The CONNECT targets of the hostile-client tests, in this process on a thread of their own: an
// echo server, and a flood server that writes as fast as its peer lets it and counts what the
// kernel took, so that tests can see backpressure and teardown from the target's side.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "accept_each.hpp"
#include "echo_server.hpp"

namespace hostile {

class flood_server {
 public:
  // Each connection is sent up to `limit` octets.
  flood_server(asio::io_context& ctx, std::uint64_t limit)
      : acceptor_(std::make_shared<asio::ip::tcp::acceptor>(
            ctx, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0))),
        counters_(std::make_shared<counters>()) {
    asio::co_spawn(ctx,
                   test::accept_each(acceptor_,
                                     [c = counters_, limit](asio::ip::tcp::socket s) {
                                       return flood(std::move(s), c, limit);
                                     }),
                   asio::detached);
  }
  ~flood_server() {
    std::error_code ignored;
    acceptor_->close(ignored);
  }

  std::uint16_t port() const { return acceptor_->local_endpoint().port(); }
  // Octets written (accepted by the kernel) over all connections so far.
  std::uint64_t written() const { return counters_->written.load(); }
  // Connections still open on the target's side.
  int active() const { return counters_->active.load(); }
  // Connections that have ended with a write error (the proxy closed its side).
  int cut() const { return counters_->cut.load(); }

 private:
  struct counters {
    std::atomic<std::uint64_t> written{0};
    std::atomic<int> active{0};
    std::atomic<int> cut{0};
  };

  static asio::awaitable<void> flood(asio::ip::tcp::socket socket, std::shared_ptr<counters> c,
                                     std::uint64_t limit) {
    ++c->active;
    std::vector<char> chunk(1 << 20, 'f');
    std::uint64_t sent = 0;
    while (sent < limit) {
      auto [ec, n] =
          co_await asio::async_write(socket, asio::buffer(chunk), socks5::detail::use_tuple);
      sent += n;
      c->written += n;
      if (ec) {
        ++c->cut;
        break;
      }
    }
    --c->active;
  }

  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::shared_ptr<counters> counters_;
};

// Both targets, served by one thread until the object goes away.
class targets {
 public:
  targets() : work_(asio::make_work_guard(ctx_)), echo_(ctx_), flood_(ctx_, 1ull << 30) {
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~targets() {
    work_.reset();
    ctx_.stop();
    thread_.join();
  }

  std::uint16_t echo_port() const { return echo_.port(); }
  flood_server& flood() { return flood_; }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  test::echo_server echo_;
  flood_server flood_;
  std::thread thread_;
};

}  // namespace hostile
