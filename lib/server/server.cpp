#include "socks5/server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include "session.hpp"

namespace socks5 {

using asio::ip::tcp;

namespace {

// The coroutine owns its session from the start: on another io_context it may begin only after
// the accept loop has moved on.
asio::awaitable<void> run_session(std::shared_ptr<session> s) {
  co_await s->run();
}

asio::awaitable<void> accept_loop(std::shared_ptr<server::state> st, tcp::acceptor& acceptor) {
  for (;;) {
    const asio::any_io_executor session_ex = st->next_session_executor();
    auto [ec, socket] = co_await acceptor.async_accept(session_ex, detail::use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or a connection that died in the backlog: keep serving the others.
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(detail::use_tuple);
      }
      continue;
    }
    const auto limit = st->options.max_connections;
    if (limit != 0 && st->active.load() >= limit) {
      std::error_code ignored;
      socket.close(ignored);  // refused at once; the sessions already running are untouched
      continue;
    }
    auto s = std::make_shared<session>(st, std::move(socket));
    asio::co_spawn(session_ex, run_session(std::move(s)), asio::detached);
  }
}

}  // namespace

void server::state::start_accepting(tcp::acceptor& acceptor) {
  asio::co_spawn(strand, accept_loop(shared_from_this(), acceptor), asio::detached);
}

asio::any_io_executor server::state::next_session_executor() {
  const auto& given = options.session_executors;
  // Each session gets a strand of its own, so that a pool of threads can run the server.
  if (given.empty()) return asio::make_strand(ex);
  return given[next_executor++ % given.size()];
}

void server::state::session_started(session* s) {
  ++active;
  ++total;
  std::lock_guard lock(mutex);
  sessions.insert(s);
}

void server::state::session_finished() {
  if (--active != 0) return;
  asio::post(strand, [self = shared_from_this()] { self->check_stopped(); });
}

void server::state::check_stopped() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mutex);
    if (!listeners.closed() || stopped || active.load() != 0) return;
    stopped = true;
    callbacks.swap(stop_callbacks);
  }
  // The last session is gone: a pending grace period has nothing left to wait for.
  grace_timer.cancel();
  for (auto& c : callbacks)
    c();
}

void server::state::session_destroyed(session* s) {
  std::lock_guard lock(mutex);
  sessions.erase(s);
}

void server::state::close_all_sessions() {
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard lock(mutex);
    for (session* s : sessions)
      if (auto p = s->weak_from_this().lock()) live.push_back(std::move(p));
  }
  for (auto& s : live) {
    auto ex = s->get_executor();
    asio::post(ex, [s] { s->close(errc::server_stopping); });
  }
}

std::string session_record::outcome() const {
  if (!error) return "ok";
  if (!failure.empty()) return "error";
  if (error == errc::handshake_timeout || error == errc::idle_timeout || error == errc::ttl_expired)
    return "timeout";
  if (error == condition::auth_failure) return "auth-failed";
  if (error == errc::server_stopping) return "stopped";
  if (error == condition::protocol_violation) return "protocol-error";
  if (!method && (error == asio::error::eof || error == asio::error::connection_reset))
    return "closed";  // gone before saying anything: a port probe, a health check
  if (reply && *reply != reply_code::succeeded) return "refused";
  return "error";
}

server::server(asio::any_io_executor ex, server_options options)
    : state_(std::make_shared<state>(std::move(ex), std::move(options))) {}

server::~server() {
  stop();
}

std::error_code server::listen(const tcp::endpoint& endpoint) {
  return state_->listeners.listen(endpoint, state_->options.reuse_port);
}

std::vector<tcp::endpoint> server::local_endpoints() const {
  return state_->listeners.local_endpoints();
}

void server::start() {
  state_->listeners.start();
}

void server::stop(std::chrono::milliseconds grace) {
  if (!state_->listeners.close()) return;
  // After the listeners' own close on the strand: no session can start past this point.
  asio::post(state_->strand, [st = state_, grace] {
    st->check_stopped();
    if (grace.count() <= 0 || st->active.load() == 0) return st->close_all_sessions();
    st->grace_timer.expires_after(grace);
    st->grace_timer.async_wait([st](std::error_code) { st->close_all_sessions(); });
  });
}

asio::any_io_executor server::executor() const {
  return state_->ex;
}

void server::when_stopped(std::function<void()> callback) {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->stopped) {
      state_->stop_callbacks.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

std::size_t server::active_sessions() const noexcept {
  return state_->active.load();
}
std::uint64_t server::total_sessions() const noexcept {
  return state_->total.load();
}

}  // namespace socks5
