#include "socket_relay.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include <asio/post.hpp>
#include <asio/write.hpp>

namespace socks5::detail {

namespace {

using clock_type = std::chrono::steady_clock;

// A direction that fills its pipe in one splice call is a bulk transfer: its pipe is enlarged
// to this, the default fs.pipe-max-size. On loopback 256 KiB measured 1.2-1.4 times the
// throughput of the kernel's default 64 KiB pipe (fewer calls, larger segments), and 1 MiB a
// further 1.12 times with 8 streams (1 stream: within the noise). Only such directions get one,
// as pipe pages count against the user's limit (fs.pipe-user-pages-soft) while the pool keeps
// them; past it, new pipes start small and grow again here. A receiver slower than its sender
// finds at most this much waiting in the pipe.
constexpr std::size_t bulk_pipe_size = 1024 * 1024;
// What a direction moves, and the calls it makes, before it waits its turn again, so that one
// busy stream cannot hold a thread that other sessions share.
constexpr std::size_t octets_per_turn = 1024 * 1024;
constexpr int splices_per_turn = 16;

std::error_code last_error() {
  return {errno, asio::error::get_system_category()};
}

#if defined(__linux__)
// Whether SIGPIPE is ignored by the process, as servers usually arrange: then a splice(2) into a
// socket whose peer has gone just fails with EPIPE and needs no guard. Asked on every drain, as
// the program may change it; one call instead of the guard's three per splice.
bool pipe_signal_ignored() {
  struct sigaction current {};
  return ::sigaction(SIGPIPE, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) == 0 &&
         current.sa_handler == SIG_IGN;
}

// splice(2) into a socket has no MSG_NOSIGNAL: a peer that has gone would raise SIGPIPE and,
// by default, end the process. Unless the signal is ignored, it is blocked on this thread for
// the call, and one it raised is taken back before the mask is restored, so the caller just
// sees EPIPE. The kernel sends a pipe's buffers a batch at a time: a batch that meets the
// peer's reset raises the signal even when the call returns what earlier batches moved, so any
// short call is checked, not only a failed one.
ssize_t splice_to_socket(int pipe_read_end, int socket, std::size_t length, bool guard) {
  constexpr unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  if (!guard) return ::splice(pipe_read_end, nullptr, socket, nullptr, length, flags);
  sigset_t pipe_signal, old_mask, pending;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask);
  const auto out = ::splice(pipe_read_end, nullptr, socket, nullptr, length, flags);
  const int saved_errno = errno;
  const bool short_call = out < 0 ? saved_errno == EPIPE : static_cast<std::size_t>(out) < length;
  if (short_call && !was_pending) {
    const timespec no_wait{};
    sigtimedwait(&pipe_signal, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved_errno;
  return out;
}
#endif

}  // namespace

socket_relay::socket_relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                           relay_counters& counters, const relay_options& options)
    : counters_(counters),
      options_(options),
      up_{a, b, counters.a_to_b, {}, {}},
      down_{b, a, counters.b_to_a, {}, {}} {}

void socket_relay::start(done_handler done, std::weak_ptr<void> owner) {
  done_ = std::move(done);
  owner_ = std::move(owner);
  std::error_code ec;
  make_non_blocking(up_.from, ec);
  if (!ec) make_non_blocking(down_.from, ec);
  if (ec) {
    first_error_ = ec;
    up_.ended = true;
    fail(down_, ec);
    return;
  }
  wait_readable(up_);
  wait_readable(down_);
}

bool socket_relay::splices() const {
#if defined(__linux__)
  return options_.splice && options_.pipes;
#else
  return false;
#endif
}

void socket_relay::make_non_blocking(asio::ip::tcp::socket& socket, std::error_code& ec) {
  // Reads are tried without waiting (would_block says "nothing now"), and splice(2) must never
  // block the thread. splice(2) goes to the descriptor itself, whose mode the socket's earlier
  // asynchronous operations have usually set already, so no call is made then; reads through
  // Asio need the socket's own non-blocking mode.
  if (!splices())
    socket.non_blocking(true, ec);
  else if (!socket.native_non_blocking())
    socket.native_non_blocking(true, ec);
}

void socket_relay::wait_readable(direction& d) {
  d.from.async_wait(asio::socket_base::wait_read,
                    [this, &d, keep = owner_.lock()](std::error_code ec) {
                      if (ec) return fail(d, ec);
                      on_readable(d);
                    });
}

void socket_relay::on_readable(direction& d) {
  if (splices()) return splice_through_pipe(d);
  copy_through_buffer(d);
}

void socket_relay::copy_through_buffer(direction& d) {
  if (!d.buffer)
    d.buffer = options_.buffers ? options_.buffers->acquire()
                                : buffer_pool::lease::standalone(options_.buffer_size);
  std::error_code ec;
  const std::size_t n = d.from.read_some(d.buffer.buffer(), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    d.buffer.reset();  // silent: the buffer goes back until there is something to carry
    return wait_readable(d);
  }
  if (ec == asio::error::eof) return end_of_stream(d);
  if (ec) return fail(d, ec);
  counters_.last_activity = clock_type::now();
  asio::async_write(
      d.to, asio::buffer(d.buffer.data(), n),
      [this, &d, keep = owner_.lock()](std::error_code write_ec, std::size_t written) {
        if (write_ec) return fail(d, write_ec);
        d.counter += written;
        counters_.last_activity = clock_type::now();
        copy_through_buffer(d);
      });
}

#if defined(__linux__)
void socket_relay::splice_through_pipe(direction& d) {
  if (!d.pipe) {
    std::error_code ec;
    d.pipe = options_.pipes->acquire(ec);
    if (ec) return fail(d, ec);
  }
  std::size_t moved = 0;
  for (int turn = 0; turn < splices_per_turn && moved < octets_per_turn; ++turn) {
    const std::size_t room = d.pipe.capacity();
    const auto in = ::splice(d.from.native_handle(), nullptr, d.pipe.write_end(), nullptr, room,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (in == 0) return end_of_stream(d);
    if (in < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        d.pipe.release_empty();  // drained to the last octet: nothing is held while silent
        return wait_readable(d);
      }
      return fail(d, last_error());
    }
    counters_.last_activity = clock_type::now();
    d.in_pipe = static_cast<std::size_t>(in);
    moved += d.in_pipe;
    if (d.in_pipe == room && room < bulk_pipe_size && !d.grow_refused)
      d.grow_refused = !d.pipe.grow(bulk_pipe_size);
    if (!drain_pipe(d)) return;
  }
  // Its turn is over: let the other sessions on this thread run, then go on.
  asio::post(d.from.get_executor(), [this, &d, keep = owner_.lock()] { splice_through_pipe(d); });
}

bool socket_relay::drain_pipe(direction& d) {
  const bool guard = !pipe_signal_ignored();
  while (d.in_pipe > 0) {
    const auto out = splice_to_socket(d.pipe.read_end(), d.to.native_handle(), d.in_pipe, guard);
    if (out < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        fail(d, last_error());
        return false;
      }
      // The receiver is slow: only what is in the pipe is held until it can take more.
      d.to.async_wait(asio::socket_base::wait_write,
                      [this, &d, keep = owner_.lock()](std::error_code ec) {
                        if (ec) return fail(d, ec);
                        if (drain_pipe(d)) splice_through_pipe(d);
                      });
      return false;
    }
    d.in_pipe -= static_cast<std::size_t>(out);
    d.counter += static_cast<std::size_t>(out);
  }
  counters_.last_activity = clock_type::now();
  return true;
}
#else
void socket_relay::splice_through_pipe(direction& d) {
  copy_through_buffer(d);
}
bool socket_relay::drain_pipe(direction&) {
  return true;
}
#endif

void socket_relay::end_of_stream(direction& d) {
  d.buffer.reset();
  if (d.pipe) d.pipe.release_empty();
  std::error_code ignored;
  d.to.shutdown(asio::socket_base::shutdown_send, ignored);
  ended(d);
}

void socket_relay::fail(direction& d, std::error_code ec) {
  keep_first_cause(first_error_, ec);
  std::error_code ignored;
  up_.from.close(ignored);
  down_.from.close(ignored);
  d.buffer.reset();
  d.pipe = {};  // may hold data: closed, not reused
  ended(d);
}

void socket_relay::ended(direction& d) {
  d.ended = true;
  if (!up_.ended || !down_.ended) return;
  auto done = std::move(done_);
  if (done) done(first_error_);
}

void start_socket_relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                        relay_counters& counters, const relay_options& options,
                        std::function<void(std::error_code)> done) {
  // Owned by its pending handlers: freed when it ends, or when its io_context goes away.
  auto relay = std::make_shared<socket_relay>(a, b, counters, options);
  relay->start(std::move(done), relay);
}

}  // namespace socks5::detail
