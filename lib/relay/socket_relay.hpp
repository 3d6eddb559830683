// The relay between two plain TCP sockets as a pair of small state machines driven by completion
// handlers: an idle direction is one pending readiness wait, with no coroutine frame, buffer or
// pipe behind it. Used by the server for unprotected sessions, where it decides memory per idle
// session and the cost per message.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

#include <asio/ip/tcp.hpp>

#include "socks5/buffer_pool.hpp"
#include "socks5/pipe_pool.hpp"
#include "socks5/relay.hpp"

namespace socks5::detail {

class socket_relay {
 public:
  using done_handler = std::function<void(std::error_code)>;

  // Both sockets, the counters and this object must outlive the relay, which ends by calling
  // `done` once both directions have ended: with the first error, or none when both sides
  // closed in order (each end of stream is passed on as a half-close).
  // splice(2) is used when options.splice is set and options.pipes given.
  socket_relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b, relay_counters& counters,
               const relay_options& options);
  socket_relay(const socket_relay&) = delete;
  socket_relay& operator=(const socket_relay&) = delete;

  // `owner` (this object, or what holds it) is kept alive by every pending handler and by
  // nothing else: when the io_context is destroyed with the relay unfinished, dropping its
  // handlers frees the owner instead of leaving it in a cycle through `done`.
  void start(done_handler done, std::weak_ptr<void> owner);

 private:
  struct direction {
    asio::ip::tcp::socket& from;
    asio::ip::tcp::socket& to;
    std::uint64_t& counter;
    buffer_pool::lease buffer;
    pipe_pool::lease pipe;
    std::size_t in_pipe = 0;
    bool grow_refused = false;  // the system would not enlarge this direction's pipe
    bool ended = false;
  };

  bool splices() const;
  void make_non_blocking(asio::ip::tcp::socket& socket, std::error_code& ec);
  void wait_readable(direction& d);
  void on_readable(direction& d);
  void copy_through_buffer(direction& d);
  void splice_through_pipe(direction& d);
  bool drain_pipe(direction& d);  // false: waiting for the receiver, or failed
  void end_of_stream(direction& d);
  void fail(direction& d, std::error_code ec);
  void ended(direction& d);

  relay_counters& counters_;
  relay_options options_;
  direction up_;
  direction down_;
  std::error_code first_error_;
  done_handler done_;
  std::weak_ptr<void> owner_;
};

}  // namespace socks5::detail
