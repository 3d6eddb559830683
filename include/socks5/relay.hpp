// Bidirectional relay between two AsyncStreams with half-close and backpressure: each direction
// holds at most one buffer, only while data is in flight, and reads again only once that buffer
// has been written out.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <system_error>
#include <type_traits>

#include <asio/awaitable.hpp>
#include <asio/basic_stream_socket.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include "socks5/auth/driver.hpp"
#include "socks5/buffer_pool.hpp"
#include "socks5/detail/transfer_whole.hpp"
#include "socks5/pipe_pool.hpp"
#include "socks5/stream.hpp"

namespace socks5 {

// Half-close: tell the peer no more data follows, keeping the other direction open.
template <class Protocol, class Executor>
asio::awaitable<void> async_shutdown_send(asio::basic_stream_socket<Protocol, Executor>& s) {
  std::error_code ignored;
  s.shutdown(asio::socket_base::shutdown_send, ignored);
  co_return;
}

// A protected stream first sends its protection's closing frames (the SSL method's
// close_notify), then half-closes the layer below.
template <class NextLayer, class P>
asio::awaitable<void> async_shutdown_send(ProtectedStream<NextLayer, P>& s) {
  auto [ec] = co_await s.async_write_close(asio::experimental::as_tuple(asio::use_awaitable));
  (void)ec;  // the half-close below is owed either way
  co_await async_shutdown_send(s.next_layer());
}

template <class NextLayer>
asio::awaitable<void> async_shutdown_send(stream<NextLayer>& s) {
  if (auto* p = s.protected_stream())
    co_await async_shutdown_send(*p);
  else
    co_await async_shutdown_send(s.next_layer());
}

// Closing: both directions at once, making any pending operation on the stream complete.
template <class Protocol, class Executor>
void close_stream(asio::basic_stream_socket<Protocol, Executor>& s) {
  std::error_code ignored;
  s.close(ignored);
}

template <class NextLayer, class P>
void close_stream(ProtectedStream<NextLayer, P>& s) {
  close_stream(s.next_layer());
}

template <class NextLayer>
void close_stream(stream<NextLayer>& s) {
  close_stream(s.next_layer());
}

struct relay_counters {
  std::uint64_t a_to_b = 0;
  std::uint64_t b_to_a = 0;
  // Time of the last transfer in either direction, for idle timeouts.
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
};

struct relay_options {
  // Per direction, and only while data is in flight: a direction that has nothing to read
  // gives its buffer back (to `buffers` when set, which also spares the allocation).
  std::size_t buffer_size = 64 * 1024;
  buffer_pool* buffers = nullptr;
  // Linux, two plain TCP sockets: move the data through a pipe with splice(2) instead of
  // copying it through user space, with pipes from `pipes` (required for it).
  bool splice = false;
  pipe_pool* pipes = nullptr;
};

namespace detail {

// The socket to wait on for readability before taking a buffer, when there is one: a plain
// socket has nothing buffered above the kernel; a protected stream may have.
template <class Protocol, class Executor>
asio::basic_stream_socket<Protocol, Executor>* plain_socket(
    asio::basic_stream_socket<Protocol, Executor>& s) {
  return &s;
}

template <class NextLayer>
auto plain_socket(stream<NextLayer>& s) -> decltype(plain_socket(s.next_layer())) {
  if (s.protected_stream()) return nullptr;
  return plain_socket(s.next_layer());
}

template <class Other>
std::nullptr_t plain_socket(Other&) {
  return nullptr;
}

// Relays between two plain TCP sockets with completion handlers rather than coroutines (no
// frame, buffer or pipe held while idle; splice(2) on Linux when asked); calls `done` once with
// the outcome. Compiled in the library.
void start_socket_relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                        relay_counters& counters, const relay_options& options,
                        std::function<void(std::error_code)> done);

// Frees the send buffers of a protected stream that has nothing more to send for now.
template <class NextLayer, class P>
void release_output(ProtectedStream<NextLayer, P>& s) {
  s.release_output();
}

template <class NextLayer>
void release_output(stream<NextLayer>& s) {
  if (auto* p = s.protected_stream()) p->release_output();
}

template <class Other>
void release_output(Other&) {}

// Whether the plain socket under `s` has nothing to read now. False when there is no such socket
// (the stream may hold data above any socket) and on error.
template <class Stream>
bool socket_is_silent(Stream& s) {
  auto socket = plain_socket(s);
  if constexpr (std::is_same_v<decltype(socket), std::nullptr_t>) {
    return false;
  } else {
    std::error_code ec;
    return socket && socket->available(ec) == 0 && !ec;
  }
}

// What a pump reads from. Each source holds buffers only while data is in flight: while silent()
// the pump waits for the socket_below() (when there is one) to have something to say, then wake()
// readies the source to take it; read() takes it, data() and consume() hand it over, and settle()
// lets the buffers go when the stream has fallen silent (returning whether it has).

// A stream read into a relay buffer, taken from the pool once there is something to read.
template <class From>
class copying_source {
 public:
  copying_source(From& from, const relay_options& options) : from_(from), options_(options) {}

  bool silent() const noexcept { return !buffer_; }
  auto socket_below() { return plain_socket(from_); }
  void wake() {
    buffer_ = options_.buffers ? options_.buffers->acquire()
                               : buffer_pool::lease::standalone(options_.buffer_size);
  }

  asio::awaitable<std::error_code> read() {
    auto [ec, n] = co_await from_.async_read_some(buffer_.buffer(), use_tuple);
    size_ = n;
    if (ec == asio::error::eof) buffer_.reset();
    co_return ec;
  }

  asio::const_buffer data() const { return asio::buffer(buffer_.data(), size_); }
  void consume(std::size_t) {}

  bool settle() {
    if (!socket_is_silent(from_)) return false;
    buffer_.reset();
    return true;
  }

 private:
  From& from_;
  const relay_options& options_;
  buffer_pool::lease buffer_;
  std::size_t size_ = 0;
};

// A protected stream, which unwraps into a buffer of its own: the relay writes from there, which
// spares a copy into a relay buffer and writes all that arrived at once. Once it falls silent its
// buffers go, and the pump waits on the socket below before they are needed again.
template <class NextLayer, class P>
class unwrapping_source {
 public:
  // Silent from the start unless the stream holds something already (data that came with the
  // request): a session that never sends takes no buffer.
  explicit unwrapping_source(ProtectedStream<NextLayer, P>& from)
      : from_(from), silent_(from.release_input()) {}

  bool silent() const noexcept { return silent_; }
  auto socket_below() { return plain_socket(from_.next_layer()); }
  void wake() noexcept { silent_ = false; }

  asio::awaitable<std::error_code> read() {
    auto [ec] = co_await from_.async_fill(use_tuple);
    co_return ec;
  }

  asio::const_buffer data() const { return from_.buffered(); }
  void consume(std::size_t n) { from_.consume(n); }

  bool settle() {
    silent_ = socket_is_silent(from_.next_layer()) && from_.release_input();
    return silent_;
  }

 private:
  ProtectedStream<NextLayer, P>& from_;
  bool silent_;
};

// The protected stream that `from` is, or carries (chosen at run time), if any: a pump reads it
// through an unwrapping_source, and anything else through a copying_source.
template <class NextLayer, class P>
auto protected_of(ProtectedStream<NextLayer, P>& s) {
  return &s;
}

template <class NextLayer>
auto protected_of(stream<NextLayer>& s) {
  return s.protected_stream();
}

template <class Other>
std::nullptr_t protected_of(Other&) {
  return nullptr;
}

// Copies `source` to `to` until end of stream (then half-closes `to`) or an error or exception
// (then closes both, which also ends the other direction). An idle direction holds this one frame:
// the wait for the socket is awaited here, not in a nested coroutine.
template <class Source, class To, class Close>
asio::awaitable<std::error_code> pump_from(Source source, To& to, std::uint64_t& counter,
                                           relay_counters& counters, Close close_both) {
  // An exception closes both streams too: the other direction may not have started yet, and
  // would miss a cancellation sent before it did.
  try {
    for (;;) {
      if (source.silent()) {
        auto socket = source.socket_below();
        if constexpr (!std::is_same_v<decltype(socket), std::nullptr_t>) {
          if (socket) {
            auto [ec] = co_await socket->async_wait(asio::socket_base::wait_read, use_tuple);
            if (ec) {
              close_both();
              co_return ec;
            }
          }
        }
        source.wake();
      }
      const std::error_code read_ec = co_await source.read();
      if (read_ec == asio::error::eof) {
        co_await async_shutdown_send(to);
        co_return std::error_code{};
      }
      if (read_ec) {
        close_both();
        co_return read_ec;
      }
      counters.last_activity = std::chrono::steady_clock::now();
      const asio::const_buffer data = source.data();
      auto [write_ec, written] =
          co_await asio::async_write(to, data, transfer_whole(data.size()), use_tuple);
      if (write_ec) {
        close_both();
        co_return write_ec;
      }
      source.consume(written);
      counter += written;
      counters.last_activity = std::chrono::steady_clock::now();
      if (source.settle()) release_output(to);
    }
  } catch (...) {
    close_both();
    throw;
  }
}

// Not a coroutine itself: it picks the source and returns the pump's one coroutine.
template <class From, class To, class Close>
asio::awaitable<std::error_code> pump(From& from, To& to, const relay_options& options,
                                      std::uint64_t& counter, relay_counters& counters,
                                      Close close_both) {
  auto protected_stream = protected_of(from);
  if constexpr (!std::is_same_v<decltype(protected_stream), std::nullptr_t>) {
    if (protected_stream)
      return pump_from(unwrapping_source(*protected_stream), to, counter, counters, close_both);
  }
  return pump_from(copying_source<From>(from, options), to, counter, counters, close_both);
}
}  // namespace detail

// Relays until both directions have ended. Returns the first error, or none when both sides
// closed in order. Both streams must live on the same strand as the caller.
template <class A, class B>
asio::awaitable<std::error_code> relay(A& a, B& b, relay_counters& counters,
                                       relay_options options = {}) {
  if constexpr (std::is_same_v<decltype(detail::plain_socket(a)), asio::ip::tcp::socket*> &&
                std::is_same_v<decltype(detail::plain_socket(b)), asio::ip::tcp::socket*>) {
    auto* x = detail::plain_socket(a);
    auto* y = detail::plain_socket(b);
    if (x && y) {
      auto [ec] = co_await asio::async_initiate<decltype(detail::use_tuple), void(std::error_code)>(
          [x, y, &counters, &options](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto ex = asio::get_associated_executor(*shared, x->get_executor());
            detail::start_socket_relay(*x, *y, counters, options, [shared, ex](std::error_code e) {
              asio::post(ex, [shared, e] { (*shared)(e); });
            });
          },
          detail::use_tuple);
      co_return ec;
    }
  }
  bool closed = false;
  auto close_both = [&] {
    if (closed) return;
    closed = true;
    close_stream(a);
    close_stream(b);
  };
  // Both pumps run until each has ended: an error or exception in one closes both streams, which
  // ends the other (the group also cancels it on an exception). A parallel group directly, not
  // awaitable_operators' && (which builds the same group inside two more coroutine frames).
  const auto executor = co_await asio::this_coro::executor;
  auto up_pump = detail::pump(a, b, options, counters.a_to_b, counters, close_both);
  auto down_pump = detail::pump(b, a, options, counters.b_to_a, counters, close_both);
  auto group = asio::experimental::make_parallel_group(
      asio::co_spawn(executor, std::move(up_pump), asio::experimental::deferred),
      asio::co_spawn(executor, std::move(down_pump), asio::experimental::deferred));
  auto [order, up_thrown, up, down_thrown, down] =
      co_await group.async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  (void)order;
  if (up_thrown) std::rethrow_exception(up_thrown);
  if (down_thrown) std::rethrow_exception(down_thrown);
  // An error in one direction aborts the other: report the cause, not the abort.
  if (up && up != asio::error::operation_aborted) co_return up;
  if (down && down != asio::error::operation_aborted) co_return down;
  co_return up ? up : down;
}

}  // namespace socks5
