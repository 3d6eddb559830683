// BIND (RFC 1928 section 4): the proxy listens for one incoming connection on the client's
// behalf, e.g. the data connection of active-mode FTP. Two steps, as the protocol has two
// replies: async_bind() completes with the address to announce to the peer, then
// bind_listener::async_accept() completes when the peer has connected.
#pragma once

#include <optional>

#include "socks5/client.hpp"

namespace socks5 {

template <class NextLayer>
class bind_listener {
 public:
  bind_listener(stream<NextLayer> s, address announce)
      : stream_(std::move(s)), announce_(std::move(announce)) {}

  // Where the peer must connect: the first reply's BND.ADDR and port. A proxy that answers
  // 0.0.0.0 (some do) means its own address, which is put in its place.
  const address& announce() const noexcept { return announce_; }

  // Waits for the second reply: completes with (error_code, socks5::stream<NextLayer>) once
  // the peer has connected, `peer` then holding its address. A refusal (the proxy's timeout,
  // X'06', say) maps to its errc. Call it once.
  template <class Token>
  auto async_accept(address& peer, Token&& token);

 private:
  std::optional<stream<NextLayer>> stream_;
  address announce_;
};

namespace detail {

// The IP address the control connection reaches the proxy at, when the layer can tell.
template <class NextLayer>
std::optional<asio::ip::address> proxy_ip(NextLayer& layer) {
  if constexpr (requires { layer.remote_endpoint(); }) {
    std::error_code ec;
    const auto ep = layer.remote_endpoint(ec);
    if (!ec) return ep.address();
  }
  return std::nullopt;
}

// BND as the client should use it: an unspecified address stands for the proxy's own.
template <class NextLayer>
address usable_bound(address bound, stream<NextLayer>& s) {
  if (!bound.is_domain() && bound.ip().is_unspecified()) {
    if (auto ip = proxy_ip(s.next_layer())) bound = address(*ip, bound.port());
  }
  return bound;
}

template <class NextLayer>
asio::awaitable<std::tuple<std::error_code, bind_listener<NextLayer>>> bind_through(
    NextLayer next, address expected, client_options opts) {
  using result = std::tuple<std::error_code, bind_listener<NextLayer>>;
  auto [ec, s, reply] = co_await request_through(std::move(next), command::bind,
                                                 std::move(expected), std::move(opts));
  address announce = ec ? address{} : usable_bound(reply.bound, s);
  co_return result{ec, bind_listener<NextLayer>(std::move(s), std::move(announce))};
}

template <class NextLayer>
asio::awaitable<handshake_result<NextLayer>> second_reply(stream<NextLayer> s, address* peer) {
  message_reader<sizeof(wire::reply_buffer)> reader;
  auto reply = co_await read_message(s, reader, wire::parse_reply);
  if (reply.invalid()) co_return handshake_result<NextLayer>{reply.error, std::move(s)};
  if (co_await cancelled())
    co_return handshake_result<NextLayer>{asio::error::operation_aborted, std::move(s)};
  *peer = reply.value.bound;
  const std::error_code ec = error_from_reply(reply.value.rep);
  co_return handshake_result<NextLayer>{ec, std::move(s)};
}

}  // namespace detail

template <class NextLayer>
template <class Token>
auto bind_listener<NextLayer>::async_accept(address& peer, Token&& token) {
  auto s = std::move(*stream_);
  stream_.reset();
  auto ex = s.get_executor();
  return detail::async_spawn<stream<NextLayer>>(ex, detail::second_reply(std::move(s), &peer),
                                                std::forward<Token>(token));
}

// BIND through a proxy that `next_layer` is already connected to. `expected_peer` is the
// address the peer will connect from, as far as the client knows (0.0.0.0:0 if not at all);
// proxies may refuse any other. Completes with (error_code, bind_listener<NextLayer>).
template <class NextLayer, class Token>
auto async_bind(NextLayer next_layer, address expected_peer, client_options options,
                Token&& token) {
  auto ex = next_layer.get_executor();
  return detail::async_spawn<bind_listener<NextLayer>>(
      ex, detail::bind_through(std::move(next_layer), std::move(expected_peer), std::move(options)),
      std::forward<Token>(token));
}

namespace detail {

inline asio::awaitable<std::tuple<std::error_code, bind_listener<asio::ip::tcp::socket>>>
dial_and_bind(asio::any_io_executor ex, std::string host, std::uint16_t port,
              client_options options, address expected) {
  using result = std::tuple<std::error_code, bind_listener<asio::ip::tcp::socket>>;
  if (options.proxy_host.empty()) options.proxy_host = host;
  auto [ec, socket] = co_await dial(ex, std::move(host), port);
  if (ec)
    co_return result{ec, bind_listener<asio::ip::tcp::socket>(
                             stream<asio::ip::tcp::socket>(std::move(socket)), {})};
  auto r = co_await bind_through(std::move(socket), std::move(expected), std::move(options));
  co_return r;
}

}  // namespace detail

template <class Token>
auto client::async_bind(address expected_peer, Token&& token) const {
  return detail::async_spawn<bind_listener<asio::ip::tcp::socket>>(
      ex_, detail::dial_and_bind(ex_, proxy_host_, proxy_port_, options_, std::move(expected_peer)),
      std::forward<Token>(token));
}

}  // namespace socks5
