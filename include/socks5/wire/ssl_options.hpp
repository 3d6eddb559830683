// The option message of the SSL method (draft "Secure Sockets Layer for SOCKS Version 5"), sent
// inside TLS in STATE 02 frames: LEN(1) OPTIONS(LEN). The client lists what it supports, the
// server answers with the subset it will use.
#pragma once

#include <vector>

#include "socks5/wire/buffer.hpp"

namespace socks5::wire {

namespace ssl_option {
inline constexpr byte subauthentication = 0x01;  // an RFC 1928 negotiation inside TLS
inline constexpr byte udp_naked = 0x10;          // UDP datagrams travel unprotected
}  // namespace ssl_option

struct ssl_options {
  std::vector<byte> options;  // 0-255 option codes; unknown ones are carried, not interpreted
  bool has(byte option) const noexcept;
  friend bool operator==(const ssl_options&, const ssl_options&) = default;
};

using ssl_options_buffer = static_buffer<1 + 255>;

// More than 255 options is errc::bad_ssl_options. An empty list is LEN 0: "no options".
std::error_code encode(const ssl_options& msg, ssl_options_buffer& out);
// The message is delimited by its LEN, so it is never malformed by itself; a peer that leaves
// the option phase without a complete one is (errc::bad_ssl_options, reported by the method).
parse_result<ssl_options> parse_ssl_options(bytes_view input);

}  // namespace socks5::wire
