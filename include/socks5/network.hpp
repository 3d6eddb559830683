// An IP network in CIDR notation ("192.0.2.0/24", "2001:db8::/32"), for access rules by client
// address.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <asio/ip/address.hpp>

namespace socks5 {

class network {
 public:
  // 0.0.0.0/0: every IPv4 address.
  network() = default;
  // Fails with std::errc::invalid_argument when the prefix is longer than the address or the
  // address has bits set beyond it ("10.0.0.1/8" is ambiguous: a host, or its network?).
  network(const asio::ip::address& base, unsigned prefix_length, std::error_code& ec);

  // "ADDR/LEN" with LEN in decimal without heading zeros (0-32 for IPv4, 0-128 for IPv6), or a
  // bare address for that one host. No zone index, no spaces. Fails with
  // std::errc::invalid_argument.
  static network parse(std::string_view text, std::error_code& ec);

  // IPv4 is compared in its IPv4-mapped IPv6 form (::ffff:192.0.2.1), both ways: an IPv4
  // network holds the mapped forms of its addresses, ::ffff:192.0.2.0/120 is 192.0.2.0/24,
  // and ::/0 holds every address.
  bool contains(const asio::ip::address& a) const noexcept;

  const asio::ip::address& base() const noexcept { return base_; }
  unsigned prefix_length() const noexcept { return prefix_; }
  std::string to_string() const;  // "ADDR/LEN"

  friend bool operator==(const network&, const network&) = default;

 private:
  asio::ip::address base_;  // IPv4 or IPv6 as written
  unsigned prefix_ = 0;
};

}  // namespace socks5
