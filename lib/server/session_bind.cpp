// BIND (RFC 1928 section 4): listen for one connection on the client's behalf, reply twice,
// relay.
#include <asio/experimental/awaitable_operators.hpp>

#include "session.hpp"

namespace socks5 {

using asio::ip::tcp;

asio::awaitable<std::error_code> session::serve_bind(const address& expected_peer) {
  const auto& o = server_->options;
  // Which peers may connect: the one the request names, when it names one and policy says so.
  std::vector<asio::ip::address> allowed;
  const bool names_peer = expected_peer.is_domain() || !expected_peer.ip().is_unspecified();
  if (o.bind_check_peer && names_peer) {
    if (expected_peer.is_domain()) {
      auto [ec, results] = co_await resolve(expected_peer.domain_name(), expected_peer.port());
      if (ec) {
        co_await send_failure(reply_for(ec));
        co_return ec;
      }
      for (const auto& r : results)
        allowed.push_back(r.endpoint().address());
    } else {
      allowed.push_back(expected_peer.ip());
    }
  }

  // Listen where the peer can reach us: the configured address, or the one the client used.
  std::error_code ec;
  const auto local = client_.next_layer().local_endpoint(ec);
  const auto ip = o.bind_address.value_or(local.address());
  bind_acceptor_.emplace(client_.get_executor());
  bind_acceptor_->open(ip.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (!ec) bind_acceptor_->bind({ip, 0}, ec);
  if (!ec) bind_acceptor_->listen(1, ec);
  if (ec) {
    co_await send_failure(reply_for(ec));
    co_return ec;
  }
  address announced(bind_acceptor_->local_endpoint(ec));
  if (announced.ip().is_unspecified()) announced = address(local.address(), announced.port());
  if (auto write_ec = co_await send_reply(reply_code::succeeded, announced)) co_return write_ec;

  stage_ = stage::binding;
  arm_watchdog(std::chrono::steady_clock::now() + o.bind_timeout);
  using namespace asio::experimental::awaitable_operators;
  for (;;) {
    // Wait for the peer, but not for a client that has gone away meanwhile.
    auto outcome = co_await (bind_acceptor_->async_accept(detail::use_tuple) || watch_client());
    if (outcome.index() == 1) co_return std::get<1>(outcome);
    auto [accept_ec, peer] = std::move(std::get<0>(outcome));
    if (accept_ec) {
      if (forced_end_ == errc::ttl_expired) {
        co_await send_failure(reply_code::ttl_expired);
        co_return forced_end_;
      }
      if (forced_end_) co_return forced_end_;
      co_await send_failure(reply_for(accept_ec));
      co_return accept_ec;
    }
    const auto from = peer.remote_endpoint(ec);
    if (ec) continue;
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), from.address()) == allowed.end()) {
      peer.close(ec);  // not the expected peer: keep waiting for it
      continue;
    }
    bind_acceptor_->close(ec);
    bind_acceptor_.reset();
    peer.set_option(tcp::no_delay(true), ec);
    record_.peer = address(from);
    upstream_.emplace(std::move(peer));
    if (auto write_ec = co_await send_reply(reply_code::succeeded, *record_.peer))
      co_return write_ec;
    const std::error_code relay_ec = co_await relay_upstream();
    co_return relay_ec;
  }
}

}  // namespace socks5
