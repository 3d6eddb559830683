// The relay's pools, socks5::relay between two plain TCP sockets (both ways of moving data), and
// a user's stream that throws.
#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "bytes.hpp"
#include "digest.hpp"
#include "echo_server.hpp"
#include "run.hpp"
#include "socks5/buffer_pool.hpp"
#include "socks5/pipe_pool.hpp"
#include "socks5/relay.hpp"
#include "transfer.hpp"

using namespace socks5;
using asio::ip::tcp;

TEST_CASE("buffer_pool: a lease goes back on reset, and at most `keep` are kept") {
  buffer_pool pool(4096, 2);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    auto c = pool.acquire();
    REQUIRE(a);
    CHECK(a.size() == 4096);
    CHECK(a.buffer().size() == 4096);
    CHECK(pool.idle() == 0);
    char* const first = a.data();
    a.reset();
    CHECK_FALSE(a);
    CHECK(pool.idle() == 1);
    auto again = pool.acquire();  // reused, not allocated anew
    CHECK(again.data() == first);
    CHECK(pool.idle() == 0);
  }
  CHECK(pool.idle() == 2);  // four leases ended, two kept
  auto own = buffer_pool::lease::standalone(100);
  CHECK(own.size() == 100);
  own.reset();
  CHECK(pool.idle() == 2);
}

TEST_CASE("pipe_pool: only an emptied pipe goes back; a lease that ends otherwise is closed") {
  pipe_pool pool(4);
  std::error_code ec;
  auto p = pool.acquire(ec);
  REQUIRE_FALSE(ec);
  REQUIRE(p);
  const int read_end = p.read_end();
  p.release_empty();
  CHECK_FALSE(p);
  CHECK(pool.idle() == 1);
  auto q = pool.acquire(ec);
  CHECK(q.read_end() == read_end);
  { auto dirty = std::move(q); }  // ended without release_empty(): closed, not kept
  CHECK(pool.idle() == 0);
}

TEST_CASE("pipe_pool: a pipe grows on request and goes back to the pool at its new size") {
  pipe_pool pool(4);
  std::error_code ec;
  auto p = pool.acquire(ec);
  REQUIRE_FALSE(ec);
  CHECK(p.capacity() == static_cast<std::size_t>(::fcntl(p.write_end(), F_GETPIPE_SZ)));
  const std::size_t larger = 4 * p.capacity();
  REQUIRE(p.grow(larger));
  CHECK(p.capacity() >= larger);
  CHECK(static_cast<std::size_t>(::fcntl(p.write_end(), F_GETPIPE_SZ)) == p.capacity());
  CHECK(p.grow(larger / 2));  // already as large: nothing to do
  CHECK(p.capacity() >= larger);
  p.release_empty();
  auto again = pool.acquire(ec);
  CHECK(again.capacity() >= larger);
  CHECK_FALSE(pipe_pool::lease{}.grow(larger));  // no pipe on loan
}

namespace {

// Accepts one client on `front`, connects to `target` and relays between the two with
// socks5::relay; its outcome goes to `result`.
void spawn_relay(asio::io_context& ctx, tcp::acceptor& front, tcp::endpoint target,
                 relay_counters& counters, const relay_options& options,
                 std::optional<std::error_code>& result) {
  asio::co_spawn(
      ctx,
      [&ctx, &front, target, &counters, options, &result]() -> asio::awaitable<void> {
        auto a = co_await front.async_accept(asio::use_awaitable);
        tcp::socket b(ctx);
        co_await b.async_connect(target, asio::use_awaitable);
        result = co_await relay(a, b, counters, options);
      },
      asio::detached);
}

// A client socket relayed by socks5::relay to an echo target, round trip checked.
test::received relay_round_trip(const relay_options& options, std::size_t size,
                                relay_counters& counters) {
  asio::io_context ctx;
  test::echo_server target(ctx);
  tcp::acceptor front(ctx, {asio::ip::address_v4::loopback(), 0});
  std::optional<std::error_code> relay_result;
  spawn_relay(ctx, front, target.endpoint(), counters, options, relay_result);
  const auto data = test::random_payload(size, 7);
  auto got = test::run(ctx, [&]() -> asio::awaitable<test::received> {
    tcp::socket s(ctx);
    co_await s.async_connect(front.local_endpoint(), asio::use_awaitable);
    auto r = co_await test::echo_round_trip(s, data);
    co_return r;
  }());
  ctx.run_for(std::chrono::milliseconds(200));
  REQUIRE(relay_result.has_value());
  CHECK_FALSE(*relay_result);  // both sides ended in order
  CHECK(got.hash == test::sha256(data));
  return got;
}

}  // namespace

TEST_CASE("relay between plain sockets: through a lent buffer, and with splice(2)") {
  for (const bool splice : {false, true}) {
    INFO("splice " << splice);
    buffer_pool buffers(16 * 1024);
    pipe_pool pipes;
    relay_options options;
    options.buffers = &buffers;
    options.splice = splice;
    options.pipes = &pipes;
    relay_counters counters;
    const auto got = relay_round_trip(options, 3 * 1024 * 1024 + 17, counters);
    CHECK(got.size == 3 * 1024 * 1024 + 17);
    CHECK(counters.a_to_b == got.size);
    CHECK(counters.b_to_a == got.size);
    // Nothing is on loan once the data has gone: what was lent came back (or was never taken).
    if (splice) {
      CHECK(buffers.idle() == 0);
      CHECK(pipes.idle() >= 1);
      // A direction that filled its pipe was given a larger one, which the pool kept.
      std::error_code ec;
      pipe_pool fresh_pool;
      const auto fresh = fresh_pool.acquire(ec);
      std::vector<pipe_pool::lease> kept;
      std::size_t largest = 0;
      while (pipes.idle() > 0) {
        kept.push_back(pipes.acquire(ec));
        largest = std::max(largest, kept.back().capacity());
      }
      CHECK(largest > fresh.capacity());
    } else {
      CHECK(buffers.idle() >= 1);
    }
  }
  // Without pools: buffers of its own, freed after each burst.
  relay_counters counters;
  CHECK(relay_round_trip(relay_options{}, 100000, counters).size == 100000);
}

// Two connected TCP pairs on loopback: a relay between `a` and `b` has `a_far` and `b_far` as
// its peers.
struct relay_sockets {
  explicit relay_sockets(asio::io_context& ctx)
      : listener(ctx, {asio::ip::address_v4::loopback(), 0}),
        a_far(ctx),
        b_far(ctx),
        a(ctx),
        b(ctx) {
    a_far.connect(listener.local_endpoint());
    a = listener.accept();
    b_far.connect(listener.local_endpoint());
    b = listener.accept();
  }
  tcp::acceptor listener;
  tcp::socket a_far, b_far, a, b;
};

// The disposition of SIGPIPE for one scope, restored after it.
class pipe_signal_disposition {
 public:
  explicit pipe_signal_disposition(void (*handler)(int)) {
    struct sigaction wanted {};
    wanted.sa_handler = handler;
    sigemptyset(&wanted.sa_mask);
    REQUIRE(::sigaction(SIGPIPE, &wanted, &saved_) == 0);
  }
  ~pipe_signal_disposition() { ::sigaction(SIGPIPE, &saved_, nullptr); }
  pipe_signal_disposition(const pipe_signal_disposition&) = delete;
  pipe_signal_disposition& operator=(const pipe_signal_disposition&) = delete;

 private:
  struct sigaction saved_ {};
};

TEST_CASE("relay: a receiver that has gone ends the relay with an error, never SIGPIPE") {
  // With the default action of SIGPIPE, which ends the process, this test would not finish
  // unless the relay guards its splice(2) calls; with SIGPIPE ignored it makes none.
  for (const auto handler : {SIG_DFL, SIG_IGN})
    for (const bool splice : {false, true}) {
      INFO("SIGPIPE ignored " << (handler == SIG_IGN) << ", splice " << splice);
      pipe_signal_disposition disposition(handler);
      asio::io_context ctx;
      tcp::acceptor front(ctx, {asio::ip::address_v4::loopback(), 0});
      tcp::acceptor gone(ctx, {asio::ip::address_v4::loopback(), 0});
      buffer_pool buffers;
      pipe_pool pipes;
      relay_options options;
      options.buffers = &buffers;
      options.splice = splice;
      options.pipes = &pipes;
      relay_counters counters;
      std::optional<std::error_code> relay_result;
      spawn_relay(ctx, front, gone.local_endpoint(), counters, options, relay_result);
      // The target accepts and closes at once, reading nothing.
      asio::co_spawn(
          ctx,
          [&]() -> asio::awaitable<void> {
            auto s = co_await gone.async_accept(asio::use_awaitable);
            s.close();
          },
          asio::detached);
      test::run(ctx, [&]() -> asio::awaitable<void> {
        tcp::socket s(ctx);
        co_await s.async_connect(front.local_endpoint(), asio::use_awaitable);
        const std::vector<char> chunk(256 * 1024, 'x');
        for (int i = 0; i < 64 && !relay_result; ++i) {
          auto [ec, n] = co_await asio::async_write(s, asio::buffer(chunk), detail::use_tuple);
          if (ec) break;
        }
      }());
      ctx.run_for(std::chrono::milliseconds(500));
      REQUIRE(relay_result.has_value());
      CHECK(*relay_result);  // EPIPE or a reset: an error, reported
    }
}

TEST_CASE("relay: a receiver found gone part way through one splice never raises SIGPIPE") {
  // A splice(2) into a socket moves a pipe's buffers a few at a time. When a later batch meets
  // the peer's reset, the call returns what went before, with SIGPIPE raised by the failed
  // batch: the relay must take that signal back too. With the default action, which ends the
  // process, this test would not finish otherwise.
  pipe_signal_disposition disposition(SIG_DFL);
  asio::io_context ctx;
  relay_sockets sockets(ctx);
  auto& [listener, a_far, b_far, a, b] = sockets;
  // The receiver closes in order, reading nothing: b learns that it has gone only from the
  // reset its first data brings back, between two batches of one splice(2).
  b_far.close();
  char octet = 0;
  std::error_code ec;
  b.receive(asio::buffer(&octet, 1), 0, ec);
  REQUIRE(ec == asio::error::eof);
  // A pipe larger than one batch (16 buffers), as a bulk transfer leaves in the pool.
  pipe_pool pipes;
  {
    auto pipe = pipes.acquire(ec);
    REQUIRE_FALSE(ec);
    REQUIRE(pipe.grow(1024 * 1024));
    pipe.release_empty();
  }
  relay_options options;
  options.splice = true;
  options.pipes = &pipes;
  relay_counters counters;
  std::optional<std::error_code> relay_result;
  detail::start_socket_relay(a, b, counters, options, [&](std::error_code e) { relay_result = e; });
  // Sent from page-sized pipe buffers, which travel as fragments that the receiving socket
  // cannot merge: the relay's pipe then holds more buffers than one batch takes.
  int sender[2];
  REQUIRE(::pipe(sender) == 0);
  const std::vector<char> data(128 * 1024, 'x');
  REQUIRE(::fcntl(sender[1], F_SETPIPE_SZ, static_cast<int>(data.size())) >= 0);
  REQUIRE(::write(sender[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  // Without waiting for the relay, which runs below: what the sockets' buffers take now.
  a_far.native_non_blocking(true);
  const auto sent =
      ::splice(sender[0], nullptr, a_far.native_handle(), nullptr, data.size(), SPLICE_F_NONBLOCK);
  ::close(sender[0]);
  ::close(sender[1]);
  REQUIRE(sent > 64 * 1024);  // more than 16 pages
  ctx.run_for(std::chrono::seconds(5));
  REQUIRE(relay_result.has_value());
  CHECK(*relay_result);        // EPIPE or a reset: an error, reported
  CHECK(counters.a_to_b > 0);  // part of the pipe went out before the peer was found gone
}

TEST_CASE("socket relay: an io_context destroyed mid-relay frees the relay and its handler") {
  // What the completion handler holds is freed with the io_context's pending operations.
  auto held = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = held;
  {
    asio::io_context ctx;
    relay_sockets sockets(ctx);
    auto& [listener, a_far, b_far, a, b] = sockets;
    relay_counters counters;
    bool done = false;
    detail::start_socket_relay(a, b, counters, relay_options{},
                               [&done, held = std::move(held)](std::error_code) { done = true; });
    ctx.poll();  // both directions now wait for data
    CHECK_FALSE(done);
  }
  CHECK(watch.expired());
}

namespace throwing {

// A stream of the user's whose reads fail by throwing, as one may (std::bad_alloc, say); its
// writes go to the socket below.
struct stream {
  using executor_type = tcp::socket::executor_type;
  tcp::socket& socket;
  executor_type get_executor() { return socket.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    // Throws while the socket is open, which is every call the relay makes; the return below
    // gives the function the type of a real read.
    if (socket.is_open()) throw std::runtime_error("read failed");
    return socket.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return socket.async_write_some(buffers, std::forward<Token>(token));
  }
};

// Found by socks5::relay through argument-dependent lookup.
inline asio::awaitable<void> async_shutdown_send(stream& s) {
  std::error_code ignored;
  s.socket.shutdown(asio::socket_base::shutdown_send, ignored);
  co_return;
}

inline void close_stream(stream& s) {
  std::error_code ignored;
  s.socket.close(ignored);
}

}  // namespace throwing

TEST_CASE("relay: an exception in one direction ends the other and reaches the caller") {
  asio::io_context ctx;
  relay_sockets sockets(ctx);
  throwing::stream a{sockets.a};
  relay_counters counters;
  bool finished = false;
  std::exception_ptr thrown;
  // The direction from `b` waits for data that never comes: only the throwing direction's end
  // (closing both streams, and the group's cancellation) can end it.
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { co_await relay(a, sockets.b, counters); },
      [&](std::exception_ptr e) {
        finished = true;
        thrown = e;
      });
  ctx.run_for(std::chrono::seconds(5));
  REQUIRE(finished);
  REQUIRE(thrown);
  CHECK_THROWS_WITH_AS(std::rethrow_exception(thrown), "read failed", std::runtime_error);
  CHECK_FALSE(sockets.b.is_open());  // the waiting direction closed both streams as it ended
}
