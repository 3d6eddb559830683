// The SOCKS client: negotiate a method, authenticate, and CONNECT through a proxy.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>

#include "socks5/address.hpp"
#include "socks5/auth/any_auth.hpp"
#include "socks5/auth/driver.hpp"
#include "socks5/auth/no_auth.hpp"
#include "socks5/detail/async_spawn.hpp"
#include "socks5/stream.hpp"
#include "socks5/wire/request.hpp"

namespace socks5 {

enum class resolve_mode {
  remote,  // send host names to the proxy (ATYP 03), as socks5h:// does
  local,   // resolve here and send the first address, as socks5:// does
};

struct client_options {
  // Offered in this order of preference; the proxy picks one.
  std::vector<any_client_auth> methods{NoAuth::client{}};
  resolve_mode resolution = resolve_mode::remote;
  // The proxy's host name, for methods that authenticate the proxy (GSS-API service name,
  // TLS server name). socks5::client fills it in.
  std::string proxy_host;
};

namespace detail {

template <class NextLayer>
using handshake_result = std::tuple<std::error_code, stream<NextLayer>>;

// Greeting, method negotiation, authentication: the stream ready for a request.
template <class NextLayer>
asio::awaitable<handshake_result<NextLayer>> negotiate(NextLayer next, const client_options& opts) {
  wire::method_request greeting;
  for (const auto& side : opts.methods)
    for (method_code c : side.codes())
      greeting.methods.push_back(c);
  wire::method_request_buffer out;
  if (auto ec = wire::encode(greeting, out))
    co_return handshake_result<NextLayer>{ec, stream<NextLayer>(std::move(next))};

  auto [write_ec, written] =
      co_await asio::async_write(next, asio::buffer(out.data(), out.size()), use_tuple);
  if (write_ec) co_return handshake_result<NextLayer>{write_ec, stream<NextLayer>(std::move(next))};

  message_reader<2> reader;
  const auto selection = co_await read_message(next, reader, wire::parse_method_selection);
  if (selection.invalid())
    co_return handshake_result<NextLayer>{selection.error, stream<NextLayer>(std::move(next))};

  const method_code chosen = selection.value.method;
  const any_client_auth* side = nullptr;
  for (const auto& s : opts.methods)
    if (!side) side = s.as(chosen);
  std::error_code ec;
  if (chosen == method::no_acceptable)
    ec = errc::no_acceptable_methods;
  else if (!side)
    ec = errc::unoffered_method;  // never fall back to a method we did not offer
  if (ec) co_return handshake_result<NextLayer>{ec, stream<NextLayer>(std::move(next))};

  auto machine = side->start(client_auth_context{opts.proxy_host});
  ec = co_await run_auth(next, *machine);
  if (!ec && co_await cancelled()) ec = asio::error::operation_aborted;
  // From here on everything goes through the method's protection, if it has one.
  auto protection = ec ? nullptr : machine->take_protection();
  co_return handshake_result<NextLayer>{ec,
                                        stream<NextLayer>(std::move(next), std::move(protection))};
}

// Sends `req` through the negotiated stream and reads the reply.
template <class Stream>
asio::awaitable<std::tuple<std::error_code, wire::reply>> exchange_request(
    Stream& s, const wire::request& req) {
  using result = std::tuple<std::error_code, wire::reply>;
  wire::request_buffer out;
  if (auto ec = wire::encode(req, out)) co_return result{ec, {}};
  auto [write_ec, written] =
      co_await asio::async_write(s, asio::buffer(out.data(), out.size()), use_tuple);
  if (write_ec) co_return result{write_ec, {}};
  message_reader<sizeof(wire::reply_buffer)> reader;
  auto reply = co_await read_message(s, reader, wire::parse_reply);
  if (reply.invalid()) co_return result{reply.error, {}};
  if (co_await cancelled()) co_return result{asio::error::operation_aborted, {}};
  co_return result{error_from_reply(reply.value.rep), std::move(reply.value)};
}

// Resolves a name target here when the options ask for local resolution.
template <class Executor>
asio::awaitable<std::tuple<std::error_code, address>> localize(Executor ex, address target,
                                                               resolve_mode mode) {
  using result = std::tuple<std::error_code, address>;
  if (mode != resolve_mode::local || !target.is_domain())
    co_return result{std::error_code{}, std::move(target)};
  asio::ip::tcp::resolver resolver(ex);
  const std::string service = std::to_string(target.port());
  auto [ec, results] = co_await resolver.async_resolve(target.domain_name(), service, use_tuple);
  if (ec) co_return result{ec, std::move(target)};
  if (results.empty()) co_return result{asio::error::host_not_found, std::move(target)};
  co_return result{std::error_code{}, address(results.begin()->endpoint())};
}

template <class NextLayer>
using request_result = std::tuple<std::error_code, stream<NextLayer>, wire::reply>;

// Negotiation, then one request (`cmd` for `target`) and its first reply.
template <class NextLayer>
asio::awaitable<request_result<NextLayer>> request_through(NextLayer next, command cmd,
                                                           address target, client_options opts) {
  if (auto ec = wire::validate(target))
    co_return request_result<NextLayer>{ec, stream<NextLayer>(std::move(next)), wire::reply{}};
  // Awaited expressions hold no temporaries with destructors: GCC 12 may destroy them twice.
  auto ex = next.get_executor();
  auto [resolve_ec, dst] = co_await localize(ex, std::move(target), opts.resolution);
  if (resolve_ec)
    co_return request_result<NextLayer>{resolve_ec, stream<NextLayer>(std::move(next)),
                                        wire::reply{}};

  auto [negotiate_ec, s] = co_await negotiate(std::move(next), opts);
  if (negotiate_ec) co_return request_result<NextLayer>{negotiate_ec, std::move(s), wire::reply{}};
  const wire::request request{cmd, std::move(dst)};
  auto [ec, reply] = co_await exchange_request(s, request);
  co_return request_result<NextLayer>{ec, std::move(s), std::move(reply)};
}

template <class NextLayer>
asio::awaitable<handshake_result<NextLayer>> connect_through(NextLayer next, address target,
                                                             client_options opts) {
  auto [ec, s, reply] = co_await request_through(std::move(next), command::connect,
                                                 std::move(target), std::move(opts));
  co_return handshake_result<NextLayer>{ec, std::move(s)};
}

}  // namespace detail

// CONNECT to `target` through a proxy that `next_layer` is already connected to (a socket, or
// the stream of another proxy: that is how proxies chain). Completes with
// (error_code, socks5::stream<NextLayer>); a failure reply from the proxy maps to its errc.
// Cancellation (a timer, cancel_after, a cancellation slot) aborts the operation.
template <class NextLayer, class Token>
auto async_connect(NextLayer next_layer, address target, client_options options, Token&& token) {
  auto ex = next_layer.get_executor();
  return detail::async_spawn<stream<NextLayer>>(
      ex, detail::connect_through(std::move(next_layer), std::move(target), std::move(options)),
      std::forward<Token>(token));
}

// A client bound to one proxy: dials it, then runs async_connect over the new socket.
class client {
 public:
  client(asio::any_io_executor ex, std::string proxy_host, std::uint16_t proxy_port,
         client_options options = {});

  const client_options& options() const noexcept { return options_; }

  // Completes with (error_code, socks5::stream<asio::ip::tcp::socket>).
  // The operation keeps its own copy of the options: the client may go away meanwhile.
  template <class Token>
  auto async_connect(address target, Token&& token) const {
    return detail::async_spawn<stream<asio::ip::tcp::socket>>(
        ex_, connect(ex_, proxy_host_, proxy_port_, options_, std::move(target)),
        std::forward<Token>(token));
  }

  // BIND, in two steps (see socks5/bind.hpp, which defines it): completes with
  // (error_code, bind_listener<asio::ip::tcp::socket>).
  template <class Token>
  auto async_bind(address expected_peer, Token&& token) const;

  // UDP ASSOCIATE (see socks5/udp.hpp, which defines it): completes with
  // (error_code, udp_association<asio::ip::tcp::socket>).
  template <class Token>
  auto async_udp_associate(Token&& token) const;

  const asio::any_io_executor& executor() const noexcept { return ex_; }
  const std::string& proxy_host() const noexcept { return proxy_host_; }
  std::uint16_t proxy_port() const noexcept { return proxy_port_; }

 private:
  static asio::awaitable<detail::handshake_result<asio::ip::tcp::socket>> connect(
      asio::any_io_executor ex, std::string host, std::uint16_t port, client_options options,
      address target);

  asio::any_io_executor ex_;
  std::string proxy_host_;
  std::uint16_t proxy_port_;
  client_options options_;
};

// Dials host:port (every resolved address in turn) with TCP_NODELAY set.
asio::awaitable<std::tuple<std::error_code, asio::ip::tcp::socket>> dial(asio::any_io_executor ex,
                                                                         std::string host,
                                                                         std::uint16_t port);

}  // namespace socks5
