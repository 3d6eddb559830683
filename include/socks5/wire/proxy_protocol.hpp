// The PROXY protocol (HAProxy, "The PROXY protocol Versions 1 & 2"): the header a load balancer
// puts in front of a connection it relays, naming the client it came from.
//   v2: SIG(12) = 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
//       VER_CMD  high nibble version (2), low nibble command: 0 LOCAL, 1 PROXY
//       FAM      high nibble family: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX;
//                low nibble transport: 0 UNSPEC, 1 STREAM, 2 DGRAM
//       LEN(2)   octets that follow: the address block, then TLVs
//       TCP/IPv4: SRC(4) DST(4) SRC_PORT(2) DST_PORT(2); TCP/IPv6: SRC(16) DST(16) ports
//   v1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 1080\r\n" (TCP6 likewise), or
//       "PROXY UNKNOWN[ anything]\r\n"; at most 107 octets with the CRLF.
#pragma once

#include <optional>

#include <asio/ip/tcp.hpp>

#include "socks5/wire/buffer.hpp"

namespace socks5::wire {

inline constexpr byte proxy_v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
inline constexpr std::size_t proxy_v2_fixed_size = 16;
// A sane bound on LEN: the largest address block (unix, 216) and room for the TLVs load
// balancers send (SSL details, unique IDs, cloud endpoint IDs).
inline constexpr std::size_t max_proxy_v2_length = 2048;
inline constexpr std::size_t max_proxy_v1_size = 107;  // "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n"
inline constexpr std::size_t max_proxy_header_size = proxy_v2_fixed_size + max_proxy_v2_length;

enum class proxy_command : byte {
  local = 0x0,  // the balancer's own connection (a health check): the real endpoints stand
  proxy = 0x1,  // relayed on behalf of a client: the header's addresses stand
};

struct proxy_addresses {
  asio::ip::tcp::endpoint source;       // the client
  asio::ip::tcp::endpoint destination;  // where the client connected to (the balancer)
  friend bool operator==(const proxy_addresses&, const proxy_addresses&) = default;
};

struct proxy_header {
  int version = 2;  // 1 for the text form
  proxy_command command = proxy_command::local;
  // Present for PROXY over TCP/IPv4 or TCP/IPv6 (v1: TCP4, TCP6). Absent for LOCAL and for an
  // unspecified family or transport (v1: UNKNOWN): the connection's own addresses stand.
  std::optional<proxy_addresses> addresses;
  friend bool operator==(const proxy_header&, const proxy_header&) = default;
};

using proxy_header_buffer = static_buffer<max_proxy_v1_size + 1>;

// Version 2 as LOCAL (family UNSPEC, no addresses, whatever `addresses` holds) or PROXY over TCP
// (with addresses of one family; UNSPEC without), version 1 as TCP4, TCP6 or UNKNOWN (which
// has no LOCAL). Fails with
// proxy_unsupported_address when the source and destination families differ.
std::error_code encode(const proxy_header& msg, proxy_header_buffer& out);

// Either version, told apart by the first octet. Asks for the fewest octets that can still
// belong to the header (one at a time through a v1 line), so nothing after it is consumed: the
// octets that follow belong to the next protocol. v2 TLVs are skipped; UDP and unix addresses
// are refused (proxy_unsupported_address), as the server has no TCP client to name then.
parse_result<proxy_header> parse_proxy_header(bytes_view input);

}  // namespace socks5::wire
