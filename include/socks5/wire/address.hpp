// ATYP | ADDR | PORT, the address block shared by requests, replies and UDP datagrams.
#pragma once

#include <cstdint>

#include "socks5/address.hpp"
#include "socks5/wire/buffer.hpp"

namespace socks5::wire {

enum class address_type : byte { ipv4 = 0x01, domain_name = 0x03, ipv6 = 0x04 };

// The largest address block: ATYP, length octet, 255 octets of name, port.
inline constexpr std::size_t max_address_size = 1 + 1 + 255 + 2;

// Checks what encoding needs (a name of 1-255 octets without NUL); empty when encodable.
std::error_code validate(const address& a) noexcept;

// Appends the block for a valid address (see validate()).
template <std::size_t N>
void append_address(static_buffer<N>& out, const address& a) {
  static_assert(N >= max_address_size);
  if (a.is_domain()) {
    const auto& name = a.domain_name();
    out.push_back(static_cast<byte>(address_type::domain_name));
    out.push_back(static_cast<byte>(name.size()));
    out.append(name.data(), name.size());
  } else if (a.is_ipv4()) {
    out.push_back(static_cast<byte>(address_type::ipv4));
    const auto bytes = a.ip().to_v4().to_bytes();
    out.append(bytes.data(), bytes.size());
  } else {
    out.push_back(static_cast<byte>(address_type::ipv6));
    const auto bytes = a.ip().to_v6().to_bytes();
    out.append(bytes.data(), bytes.size());
  }
  out.put_u16(a.port());
}

// Parses an address block at the start of `input` (which begins with ATYP).
parse_result<address> parse_address(bytes_view input);

}  // namespace socks5::wire
