// Bidirectional relay between two AsyncStreams with half-close and backpressure: each direction
// holds at most one buffer, and reads again only once that buffer has been written out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

#include <asio/awaitable.hpp>
#include <asio/basic_stream_socket.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/write.hpp>

#include "socks5/auth/driver.hpp"
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
  std::size_t buffer_size = 64 * 1024;
};

namespace detail {

// Copies `from` to `to` until end of stream (then half-closes `to`) or an error (then closes
// both, which also ends the other direction).
template <class From, class To, class Close>
asio::awaitable<std::error_code> pump(From& from, To& to, std::size_t buffer_size,
                                      std::uint64_t& counter, relay_counters& counters,
                                      Close close_both) {
  auto buffer = std::make_unique<char[]>(buffer_size);
  for (;;) {
    auto [read_ec, n] =
        co_await from.async_read_some(asio::buffer(buffer.get(), buffer_size), use_tuple);
    if (read_ec == asio::error::eof) {
      co_await async_shutdown_send(to);
      co_return std::error_code{};
    }
    if (read_ec) {
      close_both();
      co_return read_ec;
    }
    counters.last_activity = std::chrono::steady_clock::now();
    auto [write_ec, written] =
        co_await asio::async_write(to, asio::buffer(buffer.get(), n), use_tuple);
    if (write_ec) {
      close_both();
      co_return write_ec;
    }
    counter += written;
    counters.last_activity = std::chrono::steady_clock::now();
  }
}

}  // namespace detail

// Relays until both directions have ended. Returns the first error, or none when both sides
// closed in order. Both streams must live on the same strand as the caller.
template <class A, class B>
asio::awaitable<std::error_code> relay(A& a, B& b, relay_counters& counters,
                                       relay_options options = {}) {
  using namespace asio::experimental::awaitable_operators;
  bool closed = false;
  auto close_both = [&] {
    if (closed) return;
    closed = true;
    close_stream(a);
    close_stream(b);
  };
  auto [up, down] =
      co_await (detail::pump(a, b, options.buffer_size, counters.a_to_b, counters, close_both) &&
                detail::pump(b, a, options.buffer_size, counters.b_to_a, counters, close_both));
  // An error in one direction aborts the other: report the cause, not the abort.
  if (up && up != asio::error::operation_aborted) co_return up;
  if (down && down != asio::error::operation_aborted) co_return down;
  co_return up ? up : down;
}

}  // namespace socks5
