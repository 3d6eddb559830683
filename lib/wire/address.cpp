#include "socks5/wire/address.hpp"

#include <algorithm>
#include <array>

namespace socks5::wire {

std::error_code validate(const address& a) noexcept {
  if (!a.is_domain()) return {};
  const auto& name = a.domain_name();
  if (name.empty()) return errc::empty_domain_name;
  if (name.size() > 255) return errc::domain_name_too_long;
  if (name.find('\0') != std::string::npos) return errc::bad_domain_name;
  return {};
}

parse_result<address> parse_address(bytes_view in) {
  using result = parse_result<address>;
  if (in.empty()) return result::need(1);
  switch (static_cast<address_type>(in[0])) {
    case address_type::ipv4: {
      constexpr std::size_t size = 1 + 4 + 2;
      if (in.size() < size) return result::need(size);
      asio::ip::address_v4::bytes_type b;
      std::copy_n(in.data() + 1, b.size(), b.begin());
      return result::done(size, address(asio::ip::address_v4(b), get_u16(in.data() + 5)));
    }
    case address_type::ipv6: {
      constexpr std::size_t size = 1 + 16 + 2;
      if (in.size() < size) return result::need(size);
      asio::ip::address_v6::bytes_type b;
      std::copy_n(in.data() + 1, b.size(), b.begin());
      return result::done(size, address(asio::ip::address_v6(b), get_u16(in.data() + 17)));
    }
    case address_type::domain_name: {
      if (in.size() < 2) return result::need(2);
      const std::size_t len = in[1];
      if (len == 0) return result::fail(errc::empty_domain_name);
      const std::size_t size = 2 + len + 2;
      // Reject a NUL in the name as soon as it has arrived.
      const auto name_end = in.begin() + static_cast<std::ptrdiff_t>(std::min(in.size(), 2 + len));
      if (std::find(in.begin() + 2, name_end, byte{0}) != name_end)
        return result::fail(errc::bad_domain_name);
      if (in.size() < size) return result::need(size);
      const auto* name = reinterpret_cast<const char*>(in.data() + 2);
      return result::done(size,
                          address::domain(std::string(name, len), get_u16(in.data() + 2 + len)));
    }
  }
  return result::fail(errc::bad_address_type);
}

}  // namespace socks5::wire
