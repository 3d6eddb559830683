// Listening sockets as the servers here open them, and the addresses they are bound to.
#pragma once

#include <memory>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>

namespace socks5::detail {

// Opens, binds and listens on `endpoint` (address reuse on; an IPv6 listener takes IPv6 only,
// so that an IPv4 one may share its port; SO_REUSEPORT when asked).
std::unique_ptr<asio::ip::tcp::acceptor> open_listener(const asio::any_io_executor& ex,
                                                       const asio::ip::tcp::endpoint& endpoint,
                                                       bool reuse_port, std::error_code& ec);

// Where each listener is bound; a listener that cannot say is left out.
std::vector<asio::ip::tcp::endpoint> bound_endpoints(
    const std::vector<std::unique_ptr<asio::ip::tcp::acceptor>>& listeners);

}  // namespace socks5::detail
