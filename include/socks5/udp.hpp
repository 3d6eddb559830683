// UDP ASSOCIATE (RFC 1928 section 7), client side: a TCP control connection that keeps the
// association alive, and a UDP socket whose datagrams go through the proxy's relay with a SOCKS
// header in front (wrapped whole by GSS-API when that protects the session).
#pragma once

#include <memory>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>

#include "socks5/bind.hpp"
#include "socks5/relay.hpp"
#include "socks5/wire/udp.hpp"

namespace socks5 {

template <class NextLayer>
class udp_association {
 public:
  // An empty association, as a failed operation completes with.
  udp_association() = default;
  udp_association(stream<NextLayer> control, asio::ip::udp::socket socket,
                  asio::ip::udp::endpoint relay);
  udp_association(udp_association&&) noexcept = default;
  udp_association& operator=(udp_association&&) noexcept = default;
  // Ends the association (closes the control connection and the socket).
  ~udp_association() { close(); }

  // Sends `data` to `target` (IPv4, IPv6 or a name the proxy resolves) through the relay.
  // Completes with (error_code, std::size_t octets of data sent). One send at a time.
  template <class Token>
  auto async_send_to(asio::const_buffer data, address target, Token&& token);

  // The next datagram relayed to this client: completes with (error_code, std::size_t); `from`
  // is the original sender. Datagrams from anywhere but the relay, malformed ones and ones that
  // fail to unwrap are dropped and counted. When the control connection ends, pending and
  // later operations fail with errc::association_closed. One receive at a time.
  template <class Token>
  auto async_receive_from(asio::mutable_buffer data, address& from, Token&& token);

  explicit operator bool() const noexcept { return state_ != nullptr; }
  const asio::ip::udp::endpoint& relay() const noexcept { return state_->relay; }
  std::uint64_t dropped() const noexcept { return state_->dropped; }
  stream<NextLayer>& control() noexcept { return state_->control; }
  // The association's own UDP socket (for socket options; sending on it bypasses the header).
  asio::ip::udp::socket& socket() noexcept { return state_->socket; }
  void close();

 private:
  struct state {
    state(stream<NextLayer> c, asio::ip::udp::socket s, asio::ip::udp::endpoint r)
        : control(std::move(c)), socket(std::move(s)), relay(std::move(r)) {}
    stream<NextLayer> control;
    asio::ip::udp::socket socket;
    asio::ip::udp::endpoint relay;
    std::error_code ended;  // set once the control connection is gone
    std::uint64_t dropped = 0;
    std::vector<wire::byte> send_packet, receive_packet, datagram;
  };

  static asio::awaitable<void> watch(std::shared_ptr<state> st);
  static asio::awaitable<std::tuple<std::error_code, std::size_t>> send(std::shared_ptr<state> st,
                                                                        asio::const_buffer data,
                                                                        address target);
  static asio::awaitable<std::tuple<std::error_code, std::size_t>> receive(
      std::shared_ptr<state> st, asio::mutable_buffer data, address* from);

  std::shared_ptr<state> state_;
};

template <class NextLayer>
udp_association<NextLayer>::udp_association(stream<NextLayer> control, asio::ip::udp::socket socket,
                                            asio::ip::udp::endpoint relay)
    : state_(std::make_shared<state>(std::move(control), std::move(socket), std::move(relay))) {
  auto ex = state_->socket.get_executor();
  asio::co_spawn(ex, watch(state_), asio::detached);
}

template <class NextLayer>
void udp_association<NextLayer>::close() {
  if (!state_) return;
  close_stream(state_->control);
  std::error_code ignored;
  state_->socket.close(ignored);
}

// The association lives as long as its control connection: nothing is expected on it, so any
// end (or anything at all) closes the association.
template <class NextLayer>
asio::awaitable<void> udp_association<NextLayer>::watch(std::shared_ptr<state> st) {
  std::array<wire::byte, 64> sink;
  auto [ec, n] = co_await st->control.async_read_some(asio::buffer(sink), detail::use_tuple);
  (void)ec;  // whatever ended the read, the association is over
  st->ended = errc::association_closed;
  std::error_code ignored;
  st->socket.close(ignored);
}

template <class NextLayer>
asio::awaitable<std::tuple<std::error_code, std::size_t>> udp_association<NextLayer>::send(
    std::shared_ptr<state> st, asio::const_buffer data, address target) {
  using result = std::tuple<std::error_code, std::size_t>;
  if (st->ended) co_return result{st->ended, 0};
  wire::udp_header_buffer header;
  if (auto ec = wire::encode(wire::udp_header{0, std::move(target)}, header))
    co_return result{ec, 0};
  std::error_code ec;
  std::size_t sent = 0;
  if (auto* p = st->control.protection(); p && p->udp() == udp_mode::wrapped) {
    std::vector<wire::byte> plain(header.data(), header.data() + header.size());
    const auto* bytes = static_cast<const wire::byte*>(data.data());
    plain.insert(plain.end(), bytes, bytes + data.size());
    if (auto wrap_ec = p->wrap_datagram(plain, st->send_packet)) co_return result{wrap_ec, 0};
    auto [send_ec, n] = co_await st->socket.async_send_to(asio::buffer(st->send_packet), st->relay,
                                                          detail::use_tuple);
    ec = send_ec;
    sent = n;
  } else {
    const std::array<asio::const_buffer, 2> parts{asio::buffer(header.data(), header.size()), data};
    auto [send_ec, n] = co_await st->socket.async_send_to(parts, st->relay, detail::use_tuple);
    ec = send_ec;
    sent = n;
  }
  if (ec) co_return result{st->ended ? st->ended : ec, 0};
  co_return result{std::error_code{}, sent == 0 ? 0 : data.size()};
}

template <class NextLayer>
asio::awaitable<std::tuple<std::error_code, std::size_t>> udp_association<NextLayer>::receive(
    std::shared_ptr<state> st, asio::mutable_buffer data, address* from) {
  using result = std::tuple<std::error_code, std::size_t>;
  st->receive_packet.resize(65536);
  for (;;) {
    if (st->ended) co_return result{st->ended, 0};
    asio::ip::udp::endpoint sender;
    auto [ec, n] = co_await st->socket.async_receive_from(asio::buffer(st->receive_packet), sender,
                                                          detail::use_tuple);
    if (ec) co_return result{st->ended ? st->ended : ec, 0};
    if (sender != st->relay) {
      ++st->dropped;  // only the relay speaks for the association
      continue;
    }
    wire::bytes_view datagram(st->receive_packet.data(), n);
    if (auto* p = st->control.protection(); p && p->udp() == udp_mode::wrapped) {
      st->datagram.clear();
      if (p->unwrap_datagram(datagram, st->datagram)) {
        ++st->dropped;
        continue;
      }
      datagram = st->datagram;
    }
    auto header = wire::parse_udp_header(datagram);
    if (!header.complete()) {
      ++st->dropped;
      continue;
    }
    *from = std::move(header.value.target);
    const auto payload = datagram.subspan(header.size);
    const std::size_t copied =
        asio::buffer_copy(data, asio::buffer(payload.data(), payload.size()));
    co_return result{std::error_code{}, copied};
  }
}

template <class NextLayer>
template <class Token>
auto udp_association<NextLayer>::async_send_to(asio::const_buffer data, address target,
                                               Token&& token) {
  auto ex = state_->socket.get_executor();
  return detail::async_spawn<std::size_t>(ex, send(state_, data, std::move(target)),
                                          std::forward<Token>(token));
}

template <class NextLayer>
template <class Token>
auto udp_association<NextLayer>::async_receive_from(asio::mutable_buffer data, address& from,
                                                    Token&& token) {
  auto ex = state_->socket.get_executor();
  return detail::async_spawn<std::size_t>(ex, receive(state_, data, &from),
                                          std::forward<Token>(token));
}

namespace detail {

// Negotiates, checks that the method allows UDP, opens the socket and asks for the association.
template <class NextLayer>
asio::awaitable<std::tuple<std::error_code, udp_association<NextLayer>>> associate_through(
    NextLayer next, client_options opts) {
  using result = std::tuple<std::error_code, udp_association<NextLayer>>;
  auto ex = next.get_executor();
  // Not a structured binding: clang 14 cannot name those in a requires-expression.
  auto negotiated = co_await negotiate(std::move(next), opts);
  const std::error_code negotiate_ec = std::get<0>(negotiated);
  auto& control = std::get<1>(negotiated);
  if (negotiate_ec) co_return result{negotiate_ec, udp_association<NextLayer>{}};
  // SSL without UDP-Naked protects the control connection only: no datagrams then.
  if (control.udp() == udp_mode::unavailable)
    co_return result{errc::udp_unavailable, udp_association<NextLayer>{}};

  // The socket, on the family of the control connection, and the source to announce: its port
  // on the control connection's local address when that is known, zeros otherwise.
  std::optional<asio::ip::address> local_ip;
  if constexpr (requires { control.next_layer().local_endpoint(); }) {
    std::error_code ignored;
    const auto ep = control.next_layer().local_endpoint(ignored);
    if (!ignored) local_ip = ep.address();
  }
  asio::ip::udp::socket socket(ex);
  std::error_code ec;
  const auto family = local_ip && local_ip->is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4();
  socket.open(family, ec);
  if (!ec) socket.bind(asio::ip::udp::endpoint(family, 0), ec);
  if (ec) co_return result{ec, udp_association<NextLayer>{}};
  const address source = local_ip ? address(*local_ip, socket.local_endpoint().port()) : address{};

  const wire::request request{command::udp_associate, source};
  auto [request_ec, reply] = co_await exchange_request(control, request);
  if (request_ec) co_return result{request_ec, udp_association<NextLayer>{}};
  const address relay = usable_bound(reply.bound, control);
  if (relay.is_domain())
    co_return result{errc::address_type_not_supported, udp_association<NextLayer>{}};
  co_return result{
      std::error_code{},
      udp_association<NextLayer>(std::move(control), std::move(socket), relay.udp_endpoint())};
}

}  // namespace detail

// UDP ASSOCIATE through a proxy that `next_layer` is connected to. Completes with
// (error_code, udp_association<NextLayer>).
template <class NextLayer, class Token>
auto async_udp_associate(NextLayer next_layer, client_options options, Token&& token) {
  auto ex = next_layer.get_executor();
  return detail::async_spawn<udp_association<NextLayer>>(
      ex, detail::associate_through(std::move(next_layer), std::move(options)),
      std::forward<Token>(token));
}

namespace detail {

inline asio::awaitable<std::tuple<std::error_code, udp_association<asio::ip::tcp::socket>>>
dial_and_associate(asio::any_io_executor ex, std::string host, std::uint16_t port,
                   client_options options) {
  using result = std::tuple<std::error_code, udp_association<asio::ip::tcp::socket>>;
  if (options.proxy_host.empty()) options.proxy_host = host;
  auto [ec, socket] = co_await dial(ex, std::move(host), port);
  if (ec) co_return result{ec, udp_association<asio::ip::tcp::socket>{}};
  auto r = co_await associate_through(std::move(socket), std::move(options));
  co_return r;
}

}  // namespace detail

template <class Token>
auto client::async_udp_associate(Token&& token) const {
  return detail::async_spawn<udp_association<asio::ip::tcp::socket>>(
      ex_, detail::dial_and_associate(ex_, proxy_host_, proxy_port_, options_),
      std::forward<Token>(token));
}

}  // namespace socks5
