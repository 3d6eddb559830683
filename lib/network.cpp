#include "socks5/network.hpp"

namespace socks5 {
namespace {

// Every address is compared in its IPv6 form: IPv4 as IPv4-mapped (::ffff:a.b.c.d), so that an
// IPv4 network of prefix N is the mapped network of prefix 96 + N.
asio::ip::address_v6::bytes_type bits_of(const asio::ip::address& a) {
  if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

unsigned width_of(const asio::ip::address& a) {
  return a.is_v4() ? 32 : 128;
}

bool bit(const asio::ip::address_v6::bytes_type& b, unsigned i) {
  return (b[i / 8] & (0x80 >> (i % 8))) != 0;
}

std::error_code invalid() {
  return std::make_error_code(std::errc::invalid_argument);
}

}  // namespace

network::network(const asio::ip::address& base, unsigned prefix_length, std::error_code& ec) {
  ec = invalid();
  if (prefix_length > width_of(base)) return;
  if (base.is_v6() && base.to_v6().scope_id() != 0) return;
  const auto b = bits_of(base);
  for (unsigned i = 128 - width_of(base) + prefix_length; i < 128; ++i)
    if (bit(b, i)) return;
  ec.clear();
  base_ = base;
  prefix_ = prefix_length;
}

network network::parse(std::string_view text, std::error_code& ec) {
  const auto slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  // Only the characters of an address: no zone index, no spaces, no names.
  if (host.empty() || host.size() > 45) return ec = invalid(), network{};
  for (char c : host) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return ec = invalid(), network{};
  }
  std::error_code ip_ec;
  const auto base = asio::ip::make_address(std::string(host), ip_ec);
  if (ip_ec) return ec = invalid(), network{};
  unsigned prefix = width_of(base);
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
      return ec = invalid(), network{};
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return ec = invalid(), network{};
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
  }
  network n(base, prefix, ec);
  return ec ? network{} : n;
}

bool network::contains(const asio::ip::address& a) const noexcept {
  const auto net = bits_of(base_);
  const auto addr = bits_of(a);
  const unsigned prefix = 128 - width_of(base_) + prefix_;
  for (unsigned i = 0; i < prefix; ++i)
    if (bit(net, i) != bit(addr, i)) return false;
  return true;
}

std::string network::to_string() const {
  return base_.to_string() + '/' + std::to_string(prefix_);
}

}  // namespace socks5
