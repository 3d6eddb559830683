#include "udp_association.hpp"

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/v6_only.hpp>

#include "../net/lookup.hpp"
#include "socks5/wire/udp.hpp"

namespace socks5 {

using asio::ip::udp;

udp_association::udp_association(asio::any_io_executor ex, const server_options& options,
                                 protection* protection, relay_counters& activity,
                                 asio::ip::tcp::endpoint control_peer,
                                 asio::ip::tcp::endpoint control_local, const address& client_hint)
    : ex_(ex),
      options_(options),
      protection_(protection),
      activity_(activity),
      control_peer_(control_peer),
      control_local_(control_local),
      client_hint_(client_hint),
      client_socket_(ex),
      v4_(ex),
      v6_(ex) {}

std::error_code udp_association::open(address& bound) {
  const auto local_ip = control_local_.address();
  std::error_code ec;
  client_socket_.open(local_ip.is_v4() ? udp::v4() : udp::v6(), ec);
  if (!ec) client_socket_.bind({local_ip, 0}, ec);
  if (ec) return ec;
  // Towards targets: one socket per family. A host without IPv6 just has no IPv6 socket.
  std::error_code ignored;
  v4_.open(udp::v4(), ignored);
  if (!ignored) v4_.bind({udp::v4(), 0}, ignored);
  v6_.open(udp::v6(), ignored);
  if (!ignored) v6_.set_option(asio::ip::v6_only(true), ignored);
  if (!ignored) v6_.bind({udp::v6(), 0}, ignored);
  // What the client is told: routable, never the wildcard.
  bound =
      address(options_.udp_advertise.value_or(local_ip), client_socket_.local_endpoint().port());
  return {};
}

void udp_association::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  client_socket_.close(ignored);
  v4_.close(ignored);
  v6_.close(ignored);
  counts_.dropped += waiting_count_;
  waiting_.clear();
  waiting_count_ = 0;
}

asio::awaitable<void> udp_association::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (from_client() && from_targets(v4_) && from_targets(v6_));
}

// RFC 1928 section 7: the relay drops datagrams from any source but the client's. The request
// may name it; what it leaves open (zeros) is learnt from the first datagram, whose address
// must then be that of the control connection's peer.
bool udp_association::accept_source(const udp::endpoint& source) {
  if (client_) return source == *client_;
  const bool hinted_ip = !client_hint_.is_domain() && !client_hint_.ip().is_unspecified();
  const auto expected_ip = hinted_ip ? client_hint_.ip() : control_peer_.address();
  if (source.address() != expected_ip) return false;
  if (client_hint_.port() != 0 && source.port() != client_hint_.port()) return false;
  client_ = source;
  return true;
}

asio::awaitable<void> udp_association::from_client() {
  std::vector<wire::byte> packet(65536), unwrapped;
  for (;;) {
    udp::endpoint source;
    auto [ec, n] =
        co_await client_socket_.async_receive_from(asio::buffer(packet), source, detail::use_tuple);
    if (ec || closed_) co_return;
    if (!accept_source(source)) {
      ++counts_.dropped;
      continue;
    }
    wire::bytes_view datagram(packet.data(), n);
    if (protection_) {
      unwrapped.clear();
      if (protection_->unwrap_datagram(datagram, unwrapped)) {
        ++counts_.dropped;  // forged, replayed or broken: dropped, counted
        continue;
      }
      datagram = unwrapped;
    }
    auto header = wire::parse_udp_header(datagram);  // FRAG != 0 is an error here: dropped
    if (!header.complete()) {
      ++counts_.dropped;
      continue;
    }
    activity_.last_activity = std::chrono::steady_clock::now();
    const auto payload = datagram.subspan(header.size);
    ++counts_.up;
    counts_.bytes_up += payload.size();
    const address& target = header.value.target;
    if (!target.is_domain()) {
      auto& socket = target.ip().is_v4() ? v4_ : v6_;
      auto [send_ec, sent] = co_await socket.async_send_to(
          asio::buffer(payload.data(), payload.size()), target.udp_endpoint(), detail::use_tuple);
      if (send_ec) ++counts_.dropped;
      continue;
    }
    forward(target, payload);
  }
}

// A name: sent at once when known, otherwise held (within the limit) until it resolves.
void udp_association::forward(const address& target, wire::bytes_view payload) {
  const auto& host = target.domain_name();
  if (auto it = names_.find(host); it != names_.end()) {
    udp::endpoint ep = it->second;
    ep.port(target.port());
    auto self = shared_from_this();
    auto& socket = ep.address().is_v4() ? v4_ : v6_;
    auto copy = std::make_shared<std::vector<wire::byte>>(payload.begin(), payload.end());
    socket.async_send_to(asio::buffer(*copy), ep, [self, copy](std::error_code ec, std::size_t) {
      if (ec && !self->closed_) ++self->counts_.dropped;
    });
    return;
  }
  if (waiting_count_ >= options_.udp_queue_limit) {
    ++counts_.dropped;
    return;
  }
  auto& queue = waiting_[host];
  queue.emplace_back(target.port(), std::vector<wire::byte>(payload.begin(), payload.end()));
  ++waiting_count_;
  if (queue.size() > 1) return;  // already being resolved
  auto self = shared_from_this();
  detail::async_lookup(client_socket_.get_executor(), host, "0",
                       [self, host](std::error_code ec, udp::resolver::results_type results) {
                         self->resolved(host, ec, results);
                       });
}

void udp_association::resolved(const std::string& host, std::error_code ec,
                               const udp::resolver::results_type& results) {
  if (closed_) return;  // the session may be gone: touch nothing of it
  auto queue = std::move(waiting_[host]);
  waiting_.erase(host);
  waiting_count_ -= queue.size();
  if (ec || results.empty()) {
    counts_.dropped += queue.size();
    return;
  }
  names_[host] = results.begin()->endpoint();
  for (auto& [port, payload] : queue)
    forward(address::domain(host, port), payload);
}

asio::awaitable<void> udp_association::from_targets(udp::socket& socket) {
  if (!socket.is_open()) co_return;
  std::vector<wire::byte> data(65536), datagram, packet;
  for (;;) {
    udp::endpoint source;
    auto [ec, n] =
        co_await socket.async_receive_from(asio::buffer(data), source, detail::use_tuple);
    if (ec || closed_) co_return;
    if (!client_) {
      ++counts_.dropped;  // nobody to give it to yet
      continue;
    }
    activity_.last_activity = std::chrono::steady_clock::now();
    wire::udp_header_buffer header;
    wire::encode(wire::udp_header{0, address(source)}, header);
    std::error_code send_ec;
    if (protection_) {
      datagram.assign(header.data(), header.data() + header.size());
      datagram.insert(datagram.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      if (protection_->wrap_datagram(datagram, packet)) {
        ++counts_.dropped;
        continue;
      }
      auto [e, sent] =
          co_await client_socket_.async_send_to(asio::buffer(packet), *client_, detail::use_tuple);
      send_ec = e;
    } else {
      const std::array<asio::const_buffer, 2> parts{asio::buffer(header.data(), header.size()),
                                                    asio::buffer(data.data(), n)};
      auto [e, sent] = co_await client_socket_.async_send_to(parts, *client_, detail::use_tuple);
      send_ec = e;
    }
    if (send_ec) {
      if (closed_) co_return;
      ++counts_.dropped;
      continue;
    }
    ++counts_.down;
    counts_.bytes_down += n;
  }
}

}  // namespace socks5
