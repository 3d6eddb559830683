// Shared state of one server: its listeners, options and live sessions.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include "../net/listener_set.hpp"
#include "socks5/buffer_pool.hpp"
#include "socks5/pipe_pool.hpp"
#include "socks5/server.hpp"

namespace socks5 {

class session;

struct server::state : std::enable_shared_from_this<server::state> {
  state(asio::any_io_executor executor, server_options opts)
      : ex(std::move(executor)),
        strand(asio::make_strand(ex)),
        options(std::move(opts)),
        listeners(
            strand, [this](asio::ip::tcp::acceptor& a) { start_accepting(a); },
            errc::server_stopping),
        relay_buffers(options.relay_buffer_size),
        grace_timer(strand) {}

  void start_accepting(asio::ip::tcp::acceptor& acceptor);
  // Where the next session runs: the given executors in turn, or a new strand.
  asio::any_io_executor next_session_executor();
  void session_started(session* s);
  void session_finished();
  void session_destroyed(session* s);
  void close_all_sessions();
  // Runs the stop callbacks once stopping and no session is left.
  void check_stopped();

  asio::any_io_executor ex;
  asio::strand<asio::any_io_executor> strand;  // listeners and the grace timer live here
  const server_options options;
  detail::listener_set listeners;  // closed: the server is stopping
  // Shared by every session's relay: lent out only while data is in flight.
  buffer_pool relay_buffers;
  pipe_pool relay_pipes;

  std::mutex mutex;  // guards everything below that is not atomic
  std::unordered_set<session*> sessions;
  bool stopped = false;
  std::vector<std::function<void()>> stop_callbacks;
  asio::steady_timer grace_timer;  // strand only

  std::size_t next_executor = 0;  // accept loops only, on the strand
  std::atomic<std::size_t> active{0};
  std::atomic<std::uint64_t> total{0};
};

}  // namespace socks5
