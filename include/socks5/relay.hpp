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
#include <utility>
#include <variant>

#include <asio/awaitable.hpp>
#include <asio/basic_stream_socket.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
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

// A relay ends with the first real cause, not the aborts that closing the streams for it causes
// in the other direction.
inline void keep_first_cause(std::error_code& first, std::error_code ec) {
  if (!first || first == asio::error::operation_aborted) first = ec;
}

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

// What a direction of the stream relay reads from. Each source holds buffers only while data is
// in flight: while silent() the relay waits for the socket_below() (when there is one) to have
// something to say, then wake() readies the source to take it; async_read() takes it, data() and
// consume() hand it over, and settle() lets the buffers go when the stream has fallen silent
// (returning whether it has).

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

  // Completes with the read's error_code.
  template <class Handler>
  void async_read(Handler handler) {
    from_.async_read_some(buffer_.buffer(), [this, handler = std::move(handler)](
                                                std::error_code ec, std::size_t n) mutable {
      size_ = n;
      if (ec == asio::error::eof) buffer_.reset();
      handler(ec);
    });
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
// buffers go, and the relay waits on the socket below before they are needed again.
template <class Protected>
class unwrapping_source {
 public:
  // Silent from the start unless the stream holds something already (data that came with the
  // request): a session that never sends takes no buffer.
  explicit unwrapping_source(Protected& from) : from_(from), silent_(from.release_input()) {}

  bool silent() const noexcept { return silent_; }
  auto socket_below() { return plain_socket(from_.next_layer()); }
  void wake() noexcept { silent_ = false; }

  template <class Handler>
  void async_read(Handler handler) {
    from_.async_fill(std::move(handler));
  }

  asio::const_buffer data() const { return from_.buffered(); }
  void consume(std::size_t n) { from_.consume(n); }

  bool settle() {
    silent_ = socket_is_silent(from_.next_layer()) && from_.release_input();
    return silent_;
  }

 private:
  Protected& from_;
  bool silent_;
};

// The protected stream that `from` is, or carries (chosen at run time), if any: the relay reads
// it through an unwrapping_source, and anything else through a copying_source.
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

// The sources a stream of type From may be read through.
template <class From, class ProtectedPointer = decltype(protected_of(std::declval<From&>()))>
struct sources_of {
  using type = std::variant<copying_source<From>,
                            unwrapping_source<std::remove_pointer_t<ProtectedPointer>>>;
};

template <class From>
struct sources_of<From, std::nullptr_t> {
  using type = std::variant<copying_source<From>>;
};

// Relays between two streams of any kind, protected ones among them, as a pair of small state
// machines driven by completion handlers, as the socket relay is: an idle direction is one
// pending wait on its socket, with no coroutine frame or buffer behind it.
template <class A, class B>
class stream_relay : public std::enable_shared_from_this<stream_relay<A, B>> {
 public:
  // With the exception that ended the relay, if one did, and the first error.
  using done_handler = std::function<void(std::exception_ptr, std::error_code)>;

  // Both streams and the counters must outlive the relay. It is owned by its pending handlers:
  // freed once it ends, or with its io_context's pending operations.
  stream_relay(A& a, B& b, relay_counters& counters, const relay_options& options)
      : counters_(counters),
        options_(options),
        a_(a),
        b_(b),
        up_(a, b, counters.a_to_b, options_),
        down_(b, a, counters.b_to_a, options_) {}
  stream_relay(const stream_relay&) = delete;
  stream_relay& operator=(const stream_relay&) = delete;

  // Ends by calling `done` once both directions have ended (each end of stream is passed on as
  // a half-close; an error or exception closes both streams, which ends the other direction).
  void start(done_handler done) {
    done_ = std::move(done);
    guarded(up_, [&] { next(up_); });
    if (closed_) return ended(down_);
    guarded(down_, [&] { next(down_); });
  }

 private:
  template <class From, class To>
  struct direction {
    direction(From& from, To& destination, std::uint64_t& octets, const relay_options& options)
        : source(make_source(from, options)), to(destination), counter(octets) {}

    static typename sources_of<From>::type make_source(From& from, const relay_options& options) {
      using sources = typename sources_of<From>::type;
      auto protected_stream = protected_of(from);
      if constexpr (!std::is_same_v<decltype(protected_stream), std::nullptr_t>) {
        if (protected_stream) return sources(std::in_place_index<1>, *protected_stream);
      }
      return sources(std::in_place_index<0>, from, options);
    }

    typename sources_of<From>::type source;
    To& to;
    std::uint64_t& counter;
    bool ended = false;
  };

  // Runs one step of `d`; an exception from it (a user's stream may throw) ends the relay and
  // is handed to `done`, instead of escaping into the io_context.
  template <class D, class Step>
  void guarded(D& d, Step&& step) noexcept {
    try {
      step();
    } catch (...) {
      if (!thrown_) thrown_ = std::current_exception();
      close_both();
      ended(d);
    }
  }

  // Waits for the source to have data when it is silent, then reads.
  template <class D>
  void next(D& d) {
    std::visit(
        [&](auto& source) {
          if (source.silent()) {
            auto socket = source.socket_below();
            if constexpr (!std::is_same_v<decltype(socket), std::nullptr_t>) {
              if (socket) {
                return socket->async_wait(
                    asio::socket_base::wait_read,
                    [this, &d, keep = this->shared_from_this()](std::error_code ec) {
                      if (d.ended) return;
                      if (ec) return fail(d, ec);
                      guarded(d, [&] { std::visit([&](auto& s) { read(d, s); }, d.source); });
                    });
              }
            }
          }
          read(d, source);
        },
        d.source);
  }

  template <class D, class Source>
  void read(D& d, Source& source) {
    if (source.silent()) source.wake();
    source.async_read([this, &d, keep = this->shared_from_this()](std::error_code ec) {
      if (d.ended) return;
      guarded(d, [&] { on_read(d, ec); });
    });
  }

  template <class D>
  void on_read(D& d, std::error_code ec) {
    if (ec == asio::error::eof) return end_of_stream(d);
    if (ec) return fail(d, ec);
    counters_.last_activity = std::chrono::steady_clock::now();
    const asio::const_buffer data = std::visit([](auto& s) { return s.data(); }, d.source);
    asio::async_write(
        d.to, data, transfer_whole(data.size()),
        [this, &d, keep = this->shared_from_this()](std::error_code write_ec, std::size_t n) {
          if (d.ended) return;
          guarded(d, [&] { on_written(d, write_ec, n); });
        });
  }

  template <class D>
  void on_written(D& d, std::error_code ec, std::size_t written) {
    if (ec) return fail(d, ec);
    const bool silent = std::visit(
        [&](auto& s) {
          s.consume(written);
          return s.settle();
        },
        d.source);
    d.counter += written;
    counters_.last_activity = std::chrono::steady_clock::now();
    if (silent) release_output(d.to);
    next(d);
  }

  // The stream's own half-close, which may send frames first (the SSL method's close_notify)
  // and which a user's stream may provide: an awaitable, run for just this once.
  template <class D>
  void end_of_stream(D& d) {
    asio::co_spawn(d.to.get_executor(), async_shutdown_send(d.to),
                   [this, &d, keep = this->shared_from_this()](std::exception_ptr e) {
                     if (d.ended) return;
                     guarded(d, [&] {
                       if (e) std::rethrow_exception(e);
                       ended(d);
                     });
                   });
  }

  template <class D>
  void fail(D& d, std::error_code ec) {
    keep_first_cause(first_error_, ec);
    close_both();
    ended(d);
  }

  void close_both() {
    if (closed_) return;
    closed_ = true;
    close_stream(a_);
    close_stream(b_);
  }

  template <class D>
  void ended(D& d) {
    if (d.ended) return;
    d.ended = true;
    if (!up_.ended || !down_.ended) return;
    auto done = std::move(done_);
    if (done) done(thrown_, first_error_);
  }

  relay_counters& counters_;
  relay_options options_;
  A& a_;
  B& b_;
  direction<A, B> up_;
  direction<B, A> down_;
  bool closed_ = false;
  std::error_code first_error_;
  std::exception_ptr thrown_;
  done_handler done_;
};

// Starts a stream relay owned by its own pending handlers.
template <class A, class B>
void start_stream_relay(A& a, B& b, relay_counters& counters, const relay_options& options,
                        typename stream_relay<A, B>::done_handler done) {
  auto relay = std::make_shared<stream_relay<A, B>>(a, b, counters, options);
  relay->start(std::move(done));
}

}  // namespace detail

// Relays until both directions have ended. Returns the first error, or none when both sides
// closed in order; an exception from a stream ends both directions and is rethrown here. Both
// streams must live on the same strand as the caller.
template <class A, class B>
asio::awaitable<std::error_code> relay(A& a, B& b, relay_counters& counters,
                                       relay_options options = {}) {
  // The relay runs on completion handlers; this coroutine only waits for its end, posted to it.
  auto wait_for = [&](auto start) {
    return asio::async_initiate<decltype(detail::use_tuple),
                                void(std::exception_ptr, std::error_code)>(
        [&a, start = std::move(start)](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          auto ex = asio::get_associated_executor(*shared, a.get_executor());
          start([shared, ex](std::exception_ptr e, std::error_code ec) {
            asio::post(ex, [shared, e, ec] { (*shared)(e, ec); });
          });
        },
        detail::use_tuple);
  };
  if constexpr (std::is_same_v<decltype(detail::plain_socket(a)), asio::ip::tcp::socket*> &&
                std::is_same_v<decltype(detail::plain_socket(b)), asio::ip::tcp::socket*>) {
    auto* x = detail::plain_socket(a);
    auto* y = detail::plain_socket(b);
    if (x && y) {
      auto [thrown, ec] = co_await wait_for([&](auto done) {
        detail::start_socket_relay(*x, *y, counters, options,
                                   [done](std::error_code e) { done(nullptr, e); });
      });
      co_return ec;
    }
  }
  auto [thrown, ec] = co_await wait_for(
      [&](auto done) { detail::start_stream_relay(a, b, counters, options, std::move(done)); });
  if (thrown) std::rethrow_exception(thrown);
  co_return ec;
}

}  // namespace socks5
