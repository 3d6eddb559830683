// One client connection, from accept to the end of its relay.
#pragma once

#include <memory>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "../relay/socket_relay.hpp"
#include "socks5/relay.hpp"
#include "state.hpp"
#include "udp_association.hpp"

namespace socks5 {

class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<server::state> server, asio::ip::tcp::socket client);
  ~session();

  asio::awaitable<void> run();
  asio::any_io_executor get_executor() { return client_.get_executor(); }

  // Ends the session at once; runs on the session's executor.
  void close(std::error_code why);

 private:
  enum class stage { handshake, connecting, binding, relay, done };

  asio::awaitable<std::error_code> serve();
  // server_options::proxy_protocol: the header before the greeting, and the client it names.
  asio::awaitable<std::error_code> read_proxy_header();
  asio::awaitable<std::error_code> negotiate();
  asio::awaitable<std::error_code> serve_connect(const address& target);
  asio::awaitable<std::error_code> serve_bind(const address& expected_peer);  // session_bind.cpp
  asio::awaitable<std::error_code> serve_udp(const address& client_hint);     // session_udp.cpp
  // After the success reply: relay between the client and upstream_ until both ends close.
  // The relay is started and runs on after this returns (relay_started_): unprotected, it is
  // relay_; protected, a stream relay that owns itself.
  asio::awaitable<std::error_code> relay_upstream();
  // The session's end: the record, the accounting, the hook; once.
  void finish(std::error_code ec);
  // An exception's text, for the record.
  static std::string describe(std::exception_ptr thrown);
  // Until the client sends anything or its connection ends (BIND waits, UDP associations).
  asio::awaitable<std::error_code> watch_client();
  void enter_relay_stage();
  asio::awaitable<std::error_code> send_reply(reply_code code, const address& bound);
  asio::awaitable<std::error_code> send_failure(reply_code code);  // BND is 0.0.0.0:0
  asio::awaitable<std::error_code> open_upstream(const address& target);
  // A name looked up; ends early, with operation_aborted, when the watchdog's deadline or
  // close() comes first.
  asio::awaitable<std::tuple<std::error_code, asio::ip::tcp::resolver::results_type>> resolve(
      const std::string& host, std::uint16_t port);

  void arm_watchdog(std::chrono::steady_clock::time_point deadline);
  void on_watchdog();

  std::shared_ptr<server::state> server_;
  stream<asio::ip::tcp::socket> client_;
  struct pending_lookup;
  std::shared_ptr<pending_lookup> lookup_;  // while resolve() waits
  asio::ip::tcp::socket outbound_;          // while connecting
  std::optional<upstream_stream> upstream_;
  std::optional<asio::ip::tcp::acceptor> bind_acceptor_;  // while BIND waits for the peer
  std::shared_ptr<udp_association> association_;          // while UDP ASSOCIATE relays
  asio::steady_timer watchdog_;

  stage stage_ = stage::handshake;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point handshake_deadline_;
  std::chrono::steady_clock::time_point deadline_;
  std::error_code forced_end_;  // set when a timer or stop() ended the session
  relay_counters counters_;
  std::optional<detail::socket_relay> relay_;
  bool relay_started_ = false;
  session_record record_;
  request_context context_;
};

}  // namespace socks5
