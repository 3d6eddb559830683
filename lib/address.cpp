#include "socks5/address.hpp"

#include <charconv>

#include "socks5/error.hpp"

namespace socks5 {

// An address keeps its family: an IPv4-mapped IPv6 address stays ATYP 04 on the wire.
address::address(const asio::ip::address& ip, std::uint16_t port) noexcept : port_(port) {
  if (ip.is_v4())
    host_ = ip.to_v4();
  else
    host_ = ip.to_v6();
}

address::address(std::string_view host, std::uint16_t port) : port_(port) {
  std::string_view literal = host;
  if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']')
    literal = literal.substr(1, literal.size() - 2);
  std::error_code ec;
  const auto ip = asio::ip::make_address(std::string(literal), ec);
  if (!ec)
    *this = address(ip, port);
  else
    host_ = std::string(host);
}

address address::domain(std::string name, std::uint16_t port) {
  address a;
  a.host_ = std::move(name);
  a.port_ = port;
  return a;
}

address address::parse(std::string_view text, std::error_code& ec) {
  ec.clear();
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  // An unbracketed IPv6 literal has colons before the port: refuse the ambiguity.
  if (host.find(':') != std::string_view::npos && host.front() != '[') {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  unsigned port = 0;
  const auto [end, err] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (err != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      ec = std::make_error_code(std::errc::invalid_argument);
      return {};
    }
    std::error_code ip_ec;
    const auto ip = asio::ip::make_address_v6(std::string(host.substr(1, host.size() - 2)), ip_ec);
    if (ip_ec) {
      ec = ip_ec;
      return {};
    }
    return address(asio::ip::address(ip), static_cast<std::uint16_t>(port));
  }
  return address(host, static_cast<std::uint16_t>(port));
}

asio::ip::address address::ip() const {
  if (is_ipv4()) return std::get<asio::ip::address_v4>(host_);
  return std::get<asio::ip::address_v6>(host_);
}

std::string address::host() const {
  if (is_domain()) return domain_name();
  return ip().to_string();
}

std::string address::to_string() const {
  if (is_ipv6()) return "[" + host() + "]:" + std::to_string(port_);
  return host() + ":" + std::to_string(port_);
}

}  // namespace socks5
