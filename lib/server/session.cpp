#include "session.hpp"

#include "../auth/select_method.hpp"

#include <asio/connect.hpp>
#include <cstdio>
#include <exception>

#include "../net/lookup.hpp"

#include "socks5/auth/driver.hpp"
#include "socks5/metrics.hpp"
#include "socks5/wire/proxy_protocol.hpp"
#include "socks5/wire/request.hpp"

namespace socks5 {

using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// Nothing can interrupt a getaddrinfo under way (a name server that never answers holds it for
// tens of seconds), so the session does not wait on the lookup itself but
// on `wake`, which the lookup's completion or the connect deadline ends, whichever is first.
struct session::pending_lookup {
  explicit pending_lookup(const asio::any_io_executor& ex)
      : wake(ex, clock_type::time_point::max()) {}

  // Ends the wait at once, or as soon as it starts.
  void end_wait() { wake.expires_at(clock_type::time_point()); }

  asio::steady_timer wake;
  bool done = false;
  std::error_code error;
  tcp::resolver::results_type results;
};

session::session(std::shared_ptr<server::state> server, tcp::socket client)
    : server_(std::move(server)),
      client_(std::move(client)),
      outbound_(client_.get_executor()),
      watchdog_(client_.get_executor()) {
  std::error_code ec;
  record_.client = context_.client = client_.next_layer().remote_endpoint(ec);
  context_.local = client_.next_layer().local_endpoint(ec);
  client_.next_layer().set_option(tcp::no_delay(true), ec);
  server_->session_started(this);
  if (const auto& m = server_->options.metrics) m->session_accepted();
}

session::~session() {
  server_->session_destroyed(this);
}

asio::awaitable<void> session::run() {
  auto self = shared_from_this();
  handshake_deadline_ = started_ + server_->options.handshake_timeout;
  arm_watchdog(handshake_deadline_);

  std::error_code ec;
  bool thrown = false;
  try {
    ec = co_await serve();
  } catch (...) {
    // Whatever threw (the handler, a verifier, a stream) ends this session and no other.
    record_.failure = describe(std::current_exception());
    thrown = true;
  }
  if (thrown) {
    ec = errc::general_failure;
    // A client whose request was read, and not yet answered, is told: X'01'. (co_await is not
    // allowed inside a handler, hence out here.)
    if (record_.cmd && !record_.reply && !forced_end_ && client_.next_layer().is_open()) {
      try {
        co_await send_failure(reply_code::general_failure);
      } catch (...) {
      }
    }
  }
  // A relay runs on without this coroutine, and finishes the session itself.
  if (relay_started_ && !thrown) co_return;
  finish(ec);
}

std::string session::describe(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    return e.what()[0] ? e.what() : "exception";
  } catch (...) {
    return "exception of an unknown type";
  }
}

void session::finish(std::error_code ec) {
  if (stage_ == stage::done) return;  // once, whoever ends it
  if (forced_end_ && record_.failure.empty()) ec = forced_end_;

  stage_ = stage::done;
  watchdog_.cancel();
  close_stream(client_);
  if (upstream_) close_stream(*upstream_);
  record_.error = ec;
  record_.bytes_up = counters_.a_to_b;
  record_.bytes_down = counters_.b_to_a;
  if (association_) {
    association_->close();
    const auto& udp = association_->totals();
    record_.bytes_up += udp.bytes_up;
    record_.bytes_down += udp.bytes_down;
    record_.datagrams_up = udp.up;
    record_.datagrams_down = udp.down;
    record_.datagrams_dropped = udp.dropped;
  }
  record_.duration = clock_type::now() - started_;
  if (const auto& m = server_->options.metrics) m->session_ended(record_);
  if (server_->options.on_session_end) {
    try {
      server_->options.on_session_end(record_);
    } catch (...) {
      // The session is over already; the accounting below must still happen, and the failure
      // has no record left to go to.
      std::fprintf(stderr, "socks5::server: on_session_end threw: %s\n",
                   describe(std::current_exception()).c_str());
    }
  }
  // Last: the server may complete async_stop() from here on another thread, and whoever waits
  // for it then finds this session counted and recorded.
  server_->session_finished();
}

void session::close(std::error_code why) {
  if (stage_ == stage::done) return;
  if (!forced_end_) forced_end_ = why;
  if (lookup_) lookup_->end_wait();
  std::error_code ignored;
  outbound_.close(ignored);
  if (bind_acceptor_) bind_acceptor_->close(ignored);
  if (association_) association_->close();
  close_stream(client_);
  if (upstream_) close_stream(*upstream_);
}

void session::arm_watchdog(clock_type::time_point deadline) {
  deadline_ = deadline;
  watchdog_.expires_at(deadline);
  watchdog_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->on_watchdog();
  });
}

void session::on_watchdog() {
  const auto now = clock_type::now();
  switch (stage_) {
    case stage::done: return;
    case stage::handshake:
      if (now < deadline_) return arm_watchdog(deadline_);
      return close(errc::handshake_timeout);
    case stage::connecting:
      if (now < deadline_) return arm_watchdog(deadline_);
      // Only the attempt is abandoned: the client still gets its X'06' reply.
      forced_end_ = errc::ttl_expired;
      if (lookup_) lookup_->end_wait();
      {
        std::error_code ignored;
        outbound_.close(ignored);
      }
      return;
    case stage::binding:
      if (now < deadline_) return arm_watchdog(deadline_);
      // The peer did not come: the client gets X'06'.
      forced_end_ = errc::ttl_expired;
      if (bind_acceptor_) {
        std::error_code ignored;
        bind_acceptor_->close(ignored);
      }
      return;
    case stage::relay: {
      const auto idle = server_->options.idle_timeout;
      if (idle.count() == 0) return;
      const auto expiry = counters_.last_activity + idle;
      if (now < expiry) return arm_watchdog(expiry);
      return close(errc::idle_timeout);
    }
  }
}

asio::awaitable<std::error_code> session::serve() {
  if (server_->options.proxy_protocol) {
    if (auto ec = co_await read_proxy_header()) co_return ec;
  }
  if (auto ec = co_await negotiate()) co_return ec;

  detail::message_reader<sizeof(wire::request_buffer)> reader;
  auto request = co_await read_message(client_, reader, wire::parse_request);
  if (request.invalid()) {
    // A malformed request is answered (07 for CMD, 08 for ATYP, else 01); a broken
    // connection is not.
    if (request.error.category() == socks5_category())
      co_await send_failure(reply_for(request.error));
    co_return request.error;
  }
  record_.cmd = context_.cmd = request.value.cmd;
  record_.target = context_.target = request.value.target;

  address target = context_.target;
  if (server_->options.handler) {
    decision d = co_await server_->options.handler(context_);
    if (forced_end_) co_return forced_end_;
    switch (d.what()) {
      case decision::kind::allow: break;
      case decision::kind::deny:
        co_await send_failure(d.code());
        co_return error_from_reply(static_cast<std::uint8_t>(d.code()));
      case decision::kind::redirect: target = d.target(); break;
      case decision::kind::use: upstream_ = std::move(*d.upstream()); break;
    }
  }

  switch (context_.cmd) {
    case command::connect: {
      const std::error_code ec = co_await serve_connect(target);
      co_return ec;
    }
    case command::bind:
      if (server_->options.allow_bind) {
        const std::error_code ec = co_await serve_bind(target);
        co_return ec;
      }
      break;
    case command::udp_associate:
      if (server_->options.allow_udp) {
        const std::error_code ec = co_await serve_udp(target);
        co_return ec;
      }
      break;
  }
  co_await send_failure(reply_code::command_not_supported);
  co_return errc::command_not_supported;
}

asio::awaitable<std::error_code> session::serve_connect(const address& target) {
  if (!upstream_) {
    if (auto ec = co_await open_upstream(target)) {
      co_await send_failure(reply_for(ec));
      co_return ec;
    }
  }
  std::error_code ec;
  const address bound(upstream_->next_layer().local_endpoint(ec));
  if (auto write_ec = co_await send_reply(reply_code::succeeded, bound)) co_return write_ec;
  const std::error_code relay_ec = co_await relay_upstream();
  co_return relay_ec;
}

void session::enter_relay_stage() {
  stage_ = stage::relay;
  counters_.last_activity = clock_type::now();
  if (server_->options.idle_timeout.count() > 0)
    arm_watchdog(counters_.last_activity + server_->options.idle_timeout);
  else
    watchdog_.cancel();
}

asio::awaitable<std::error_code> session::relay_upstream() {
  enter_relay_stage();
  relay_options options;
  options.buffer_size = server_->options.relay_buffer_size;
  options.buffers = &server_->relay_buffers;
  options.splice = server_->options.relay_splice;
  options.pipes = &server_->relay_pipes;
  // Either relay runs on completion handlers, and finishes the session when it ends.
  relay_started_ = true;
  if (!client_.protected_stream() && !upstream_->protected_stream()) {
    // Handed to completion handlers: an idle session then holds no coroutine frame at all.
    relay_.emplace(client_.next_layer(), upstream_->next_layer(), counters_, options);
    // The relay's pending handlers keep this session alive; `done` itself must not.
    relay_->start([this](std::error_code ec) { finish(ec); }, weak_from_this());
    co_return std::error_code{};
  }
  // Protected: a relay of its own, which holds the session.
  detail::start_stream_relay(
      client_, *upstream_, counters_, options,
      [self = shared_from_this()](std::exception_ptr thrown, std::error_code ec) {
        if (thrown) {
          self->record_.failure = describe(thrown);
          ec = errc::general_failure;
        }
        self->finish(ec);
      });
  co_return std::error_code{};
}

asio::awaitable<std::error_code> session::watch_client() {
  std::array<wire::byte, 1> octet;
  auto [ec, n] = co_await client_.async_read_some(asio::buffer(octet), detail::use_tuple);
  // Nothing is expected here: anything that arrives ends the wait as surely as the end does.
  co_return ec ? ec : std::error_code(errc::trailing_data);
}

asio::awaitable<std::error_code> session::read_proxy_header() {
  // The parser asks for no octet beyond the header, so the greeting is still unread in the
  // socket whether it came with the header or after it.
  detail::message_reader<wire::max_proxy_header_size> reader;
  auto header = co_await read_message(client_.next_layer(), reader, wire::parse_proxy_header);
  if (header.invalid()) co_return header.error;
  const auto& h = header.value;
  if (h.command == wire::proxy_command::proxy && h.addresses)
    record_.client = context_.client = h.addresses->source;
  co_return std::error_code{};
}

asio::awaitable<std::error_code> session::negotiate() {
  detail::message_reader<2 + 255> reader;
  auto greeting = co_await read_message(client_.next_layer(), reader, wire::parse_method_request);
  if (greeting.invalid()) co_return greeting.error;

  const any_server_auth* chosen =
      detail::select_method<any_server_auth>(server_->options.methods, greeting.value.methods);
  const auto selection =
      wire::encode(wire::method_selection{chosen ? chosen->code() : method::no_acceptable});
  auto [write_ec, n] = co_await asio::async_write(
      client_.next_layer(), asio::buffer(selection.data(), selection.size()), detail::use_tuple);
  if (write_ec) co_return write_ec;
  if (!chosen) co_return errc::no_acceptable_methods;

  record_.method = context_.method = chosen->code();
  if (const auto& m = server_->options.metrics) m->method_selected(chosen->code());
  auto machine = chosen->start(server_auth_context{context_.client});
  if (auto ec = co_await run_auth(client_.next_layer(), *machine)) co_return ec;
  record_.identity = context_.identity = machine->identity();
  // The request, the reply and the relayed data go through the method's protection, if any.
  if (auto protection = machine->take_protection())
    client_ = stream<tcp::socket>(std::move(client_.next_layer()), std::move(protection));
  co_return std::error_code{};
}

asio::awaitable<std::error_code> session::send_reply(reply_code code, const address& bound) {
  if (const auto& m = server_->options.metrics; m && !record_.reply)
    m->reply_sent(record_.cmd, code, clock_type::now() - started_);
  record_.reply = code;
  wire::reply_buffer out;
  if (auto ec = wire::encode(wire::reply{static_cast<wire::byte>(code), bound}, out)) co_return ec;
  auto [ec, n] =
      co_await asio::async_write(client_, asio::buffer(out.data(), out.size()), detail::use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> session::send_failure(reply_code code) {
  const address none;
  const std::error_code ec = co_await send_reply(code, none);
  co_return ec;
}

asio::awaitable<std::error_code> session::open_upstream(const address& target) {
  stage_ = stage::connecting;
  arm_watchdog(std::min(handshake_deadline_, clock_type::now() + server_->options.connect_timeout));

  std::error_code ec;
  if (target.is_domain()) {
    auto [resolve_ec, endpoints] = co_await resolve(target.domain_name(), target.port());
    ec = resolve_ec;
    if (!ec) {
      // Every resolved address is tried in turn; the last failure is the one reported.
      auto [connect_ec, ep] = co_await asio::async_connect(outbound_, endpoints, detail::use_tuple);
      ec = connect_ec;
    }
  } else {
    const auto ep = target.tcp_endpoint();
    outbound_.open(ep.protocol(), ec);
    if (!ec) {
      auto [connect_ec] = co_await outbound_.async_connect(ep, detail::use_tuple);
      ec = connect_ec;
    }
  }
  if (forced_end_) co_return forced_end_;  // the connect timer or stop() cut it short
  if (ec) co_return ec;

  outbound_.set_option(tcp::no_delay(true), ec);
  upstream_.emplace(std::move(outbound_));
  outbound_ = tcp::socket(client_.get_executor());
  stage_ = stage::handshake;
  arm_watchdog(handshake_deadline_);
  co_return std::error_code{};
}

asio::awaitable<std::tuple<std::error_code, tcp::resolver::results_type>> session::resolve(
    const std::string& host, std::uint16_t port) {
  using result = std::tuple<std::error_code, tcp::resolver::results_type>;
  auto lookup = std::make_shared<pending_lookup>(client_.get_executor());
  lookup_ = lookup;
  // The completion holds the lookup, not the session: a session given up on ends at once.
  detail::async_lookup(client_.get_executor(), host, std::to_string(port),
                       [lookup](std::error_code ec, tcp::resolver::results_type results) {
                         lookup->done = true;
                         lookup->error = ec;
                         lookup->results = std::move(results);
                         lookup->end_wait();
                       });
  co_await lookup->wake.async_wait(detail::use_tuple);  // ends cancelled: see end_wait()
  lookup_.reset();
  if (!lookup->done) co_return result{asio::error::operation_aborted, {}};
  co_return result{lookup->error, std::move(lookup->results)};
}

}  // namespace socks5
