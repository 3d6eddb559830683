#include "listener.hpp"

#include <sys/socket.h>

#include <asio/ip/v6_only.hpp>

namespace socks5::detail {

using asio::ip::tcp;

std::unique_ptr<tcp::acceptor> open_listener(const asio::any_io_executor& ex,
                                             const tcp::endpoint& endpoint, bool reuse_port,
                                             std::error_code& ec) {
  auto acceptor = std::make_unique<tcp::acceptor>(ex);
  ec.clear();
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && reuse_port)
    acceptor->set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return nullptr;
  return acceptor;
}

std::vector<tcp::endpoint> bound_endpoints(
    const std::vector<std::unique_ptr<tcp::acceptor>>& listeners) {
  std::vector<tcp::endpoint> out;
  for (const auto& a : listeners) {
    std::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep);
  }
  return out;
}

}  // namespace socks5::detail
