// The SOCKS server: accept, negotiate a method by policy, authenticate, serve the request, relay.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include "socks5/address.hpp"
#include "socks5/auth/any_auth.hpp"
#include "socks5/auth/no_auth.hpp"
#include "socks5/error.hpp"
#include "socks5/stream.hpp"
#include "socks5/wire/request.hpp"

namespace socks5 {

class metrics;  // socks5/metrics.hpp

using upstream_stream = stream<asio::ip::tcp::socket>;

// What the server knows about a request when it asks the handler.
struct request_context {
  asio::ip::tcp::endpoint client;  // the peer's address (with proxy_protocol: the header's)
  asio::ip::tcp::endpoint local;   // where it connected to (this server's socket)
  method_code method = method::no_auth;
  std::string identity;  // the authenticated user; empty for no authentication
  command cmd = command::connect;
  address target;
};

// The handler's answer to a request.
class decision {
 public:
  // Serve the request as asked.
  static decision allow() { return decision(kind::allow); }
  // Refuse with this reply code.
  static decision deny(reply_code code = reply_code::not_allowed) {
    decision d(kind::deny);
    d.code_ = code;
    return d;
  }
  // Connect somewhere else instead.
  static decision redirect(address target) {
    decision d(kind::redirect);
    d.target_ = std::move(target);
    return d;
  }
  // Relay to a stream the handler has connected itself (another proxy, say). Its local
  // address is what the reply reports.
  static decision use(upstream_stream upstream) {
    decision d(kind::use);
    d.upstream_.emplace(std::move(upstream));
    return d;
  }

  enum class kind { allow, deny, redirect, use };
  kind what() const noexcept { return kind_; }
  reply_code code() const noexcept { return code_; }
  const address& target() const noexcept { return target_; }
  std::optional<upstream_stream>& upstream() noexcept { return upstream_; }

 private:
  explicit decision(kind k) : kind_(k) {}
  kind kind_;
  reply_code code_ = reply_code::not_allowed;
  address target_;
  std::optional<upstream_stream> upstream_;
};

// Called once per request on the session's executor; may await anything. For BIND and UDP
// ASSOCIATE only allow and deny apply.
using request_handler = std::function<asio::awaitable<decision>(const request_context&)>;

// One finished session, for logging and accounting.
struct session_record {
  asio::ip::tcp::endpoint client;
  std::optional<method_code> method;  // none when negotiation failed
  std::string identity;
  std::optional<command> cmd;
  address target;                       // as requested
  std::optional<reply_code> reply;      // what the server answered, if it got that far
  std::uint64_t bytes_up = 0;           // client -> target (UDP: payload octets)
  std::uint64_t bytes_down = 0;         // target -> client
  std::uint64_t datagrams_up = 0;       // UDP ASSOCIATE: accepted from the client
  std::uint64_t datagrams_down = 0;     // UDP ASSOCIATE: relayed to the client
  std::uint64_t datagrams_dropped = 0;  // foreign source, fragment, bad header, failed unwrap
  std::optional<address> peer;          // BIND: who connected
  std::chrono::steady_clock::duration duration{};
  std::error_code error;  // why it ended; empty for an orderly end
  // When an exception ended the session (a throwing handler, verifier or stream): its what(),
  // and `error` is errc::general_failure.
  std::string failure;

  // "ok", "timeout", "auth-failed", "refused", "error", ...: a word for the log.
  std::string outcome() const;
};

struct server_options {
  // Offered methods in the server's order of preference: the first one the client also
  // offers is selected; X'FF' when there is none.
  std::vector<any_server_auth> methods{NoAuth::server{}};
  // From accept to the reply: a client dripping octets is cut here, not kept alive by them.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);
  // Connecting to the target (within the handshake deadline); expiry answers X'06'.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // No data either way for this long ends a relay; zero disables it.
  std::chrono::milliseconds idle_timeout = std::chrono::hours(1);
  // Sessions beyond this are closed as soon as they are accepted; zero means no limit.
  std::size_t max_connections = 16384;
  // Per direction, held only while data is in flight; bounds what a slow reader can make the
  // server hold.
  std::size_t relay_buffer_size = 64 * 1024;
  // Unprotected sessions on Linux: relay through a pipe with splice(2), without copying the
  // data through user space.
  bool relay_splice = true;

  // Behind a load balancer: every connection starts with a PROXY protocol header (version 2,
  // or version 1's text), read within the handshake timeout before the greeting. Its source
  // address is the client everywhere (request_context::client, session_record::client, the
  // auth methods, the UDP association's sender check); a LOCAL header (health checks) or an
  // unspecified family keeps the connection's own. A connection without a valid header is
  // closed with the header's error. Only for listeners that nothing but the balancer can
  // reach: whoever can connect can claim any address.
  bool proxy_protocol = false;
  // SO_REUSEPORT on the listeners (Linux): several processes with it set serve one port, the
  // kernel spreading connections among them.
  bool reuse_port = false;

  // BIND: serve it at all; the address to listen on, facing the peer (default: the address
  // the client connected to); accept only the peer the request names, when it names one; how
  // long to wait for the peer (expiry answers X'06').
  bool allow_bind = true;
  std::optional<asio::ip::address> bind_address;
  bool bind_check_peer = true;
  std::chrono::milliseconds bind_timeout = std::chrono::seconds(60);

  // UDP ASSOCIATE: serve it at all; the address told to clients as BND.ADDR (for NAT; default:
  // the address the client connected to, never 0.0.0.0); datagrams an association may hold
  // while their destination's name is being resolved.
  bool allow_udp = true;
  std::optional<asio::ip::address> udp_advertise;
  std::size_t udp_queue_limit = 64;
  // Sessions run on these executors in turn, each of which must be run by one thread only (an
  // io_context per core, say): a session then needs no strand of its own, and nothing is shared
  // between threads on the relay path. Empty: every session gets a strand of the server's
  // executor, which may then be run by any number of threads.
  std::vector<asio::any_io_executor> session_executors;
  // Decides each request; without one every request is served as asked. A handler that throws
  // (or whose awaited operation throws) ends that session alone: the client is answered X'01',
  // and the record has error errc::general_failure and the exception's text in `failure`. The
  // same holds for an exception from a verifier or a stream anywhere in the session.
  request_handler handler;
  // Called once when a session ends. An exception from it is written to stderr and does not
  // keep the session from being counted out.
  std::function<void(const session_record&)> on_session_end;
  // Where sessions are counted for Prometheus (socks5/metrics.hpp); none by default.
  std::shared_ptr<socks5::metrics> metrics;
};

class server {
 public:
  // Sessions run on strands of `ex`, so the io_context behind it may be run by many threads.
  server(asio::any_io_executor ex, server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens (before or after start()); port 0 picks a free port.
  std::error_code listen(const asio::ip::tcp::endpoint& endpoint);
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;

  // Starts accepting on every listener.
  void start();

  // Stops accepting at once; running sessions get `grace` to finish, then are closed.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  // Same as stop(), completing with void() once the last session has ended.
  template <class Token>
  auto async_stop(std::chrono::milliseconds grace, Token&& token) {
    return asio::async_initiate<Token, void()>(
        [this, grace](auto handler) {
          auto ex = asio::get_associated_executor(handler, executor());
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          when_stopped([ex, shared]() mutable { asio::post(ex, [shared] { (*shared)(); }); });
          stop(grace);
        },
        token);
  }

  std::size_t active_sessions() const noexcept;
  std::uint64_t total_sessions() const noexcept;

  struct state;

 private:
  asio::any_io_executor executor() const;
  void when_stopped(std::function<void()> callback);

  std::shared_ptr<state> state_;
};

}  // namespace socks5
