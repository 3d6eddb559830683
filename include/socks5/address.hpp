// A SOCKS address: DST/BND.ADDR (IPv4, IPv6 or a domain name) with its port.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

namespace socks5 {

class address {
 public:
  // 0.0.0.0:0, what servers send when they have nothing better to say.
  address() = default;
  address(const asio::ip::address& ip, std::uint16_t port) noexcept;
  address(const asio::ip::tcp::endpoint& ep) noexcept : address(ep.address(), ep.port()) {}
  address(const asio::ip::udp::endpoint& ep) noexcept : address(ep.address(), ep.port()) {}
  // An IP literal ("192.0.2.1", "::1", "[::1]") becomes an IP address; anything else a name.
  address(std::string_view host, std::uint16_t port);

  // Always a domain name, even when it looks like an IP literal.
  static address domain(std::string name, std::uint16_t port);

  // "host:port", "[v6]:port" or "v4:port"; a missing or invalid port is an error.
  static address parse(std::string_view text, std::error_code& ec);

  bool is_domain() const noexcept { return host_.index() == 2; }
  bool is_ipv4() const noexcept { return host_.index() == 0; }
  bool is_ipv6() const noexcept { return host_.index() == 1; }

  // Preconditions: is_domain() for domain_name(), !is_domain() for ip() and tcp_endpoint().
  const std::string& domain_name() const { return std::get<std::string>(host_); }
  asio::ip::address ip() const;
  asio::ip::tcp::endpoint tcp_endpoint() const { return {ip(), port_}; }
  asio::ip::udp::endpoint udp_endpoint() const { return {ip(), port_}; }

  // The host alone: the name or the IP in text form (IPv6 without brackets).
  std::string host() const;
  std::uint16_t port() const noexcept { return port_; }
  void set_port(std::uint16_t port) noexcept { port_ = port; }

  // "name:port", "192.0.2.1:port" or "[2001:db8::1]:port".
  std::string to_string() const;

  friend bool operator==(const address&, const address&) = default;

 private:
  std::variant<asio::ip::address_v4, asio::ip::address_v6, std::string> host_;
  std::uint16_t port_ = 0;
};

}  // namespace socks5
