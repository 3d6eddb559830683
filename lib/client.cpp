#include "socks5/client.hpp"

#include <asio/connect.hpp>

namespace socks5 {

client::client(asio::any_io_executor ex, std::string proxy_host, std::uint16_t proxy_port,
               client_options options)
    : ex_(std::move(ex)),
      proxy_host_(std::move(proxy_host)),
      proxy_port_(proxy_port),
      options_(std::move(options)) {
  if (options_.proxy_host.empty()) options_.proxy_host = proxy_host_;
}

asio::awaitable<std::tuple<std::error_code, asio::ip::tcp::socket>> dial(asio::any_io_executor ex,
                                                                         std::string host,
                                                                         std::uint16_t port) {
  using result = std::tuple<std::error_code, asio::ip::tcp::socket>;
  asio::ip::tcp::socket socket(ex);
  asio::ip::tcp::resolver resolver(ex);
  const std::string service = std::to_string(port);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(host, service, detail::use_tuple);
  if (resolve_ec) co_return result{resolve_ec, std::move(socket)};
  auto [connect_ec, ep] = co_await asio::async_connect(socket, endpoints, detail::use_tuple);
  if (connect_ec) co_return result{connect_ec, std::move(socket)};
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  co_return result{std::error_code{}, std::move(socket)};
}

asio::awaitable<detail::handshake_result<asio::ip::tcp::socket>> client::connect(
    asio::any_io_executor ex, std::string host, std::uint16_t port, client_options options,
    address target) {
  auto [ec, socket] = co_await dial(ex, std::move(host), port);
  if (ec) {
    co_return detail::handshake_result<asio::ip::tcp::socket>{
        ec, stream<asio::ip::tcp::socket>(std::move(socket))};
  }
  auto result =
      co_await detail::connect_through(std::move(socket), std::move(target), std::move(options));
  co_return result;
}

}  // namespace socks5
