// RFC 1928 section 3: method negotiation.
//   client: VER=05 NMETHODS METHODS(NMETHODS)
//   server: VER=05 METHOD
#pragma once

#include <cstdint>
#include <vector>

#include "socks5/wire/buffer.hpp"

namespace socks5 {

using method_code = std::uint8_t;

namespace method {
inline constexpr method_code no_auth = 0x00;
inline constexpr method_code gssapi = 0x01;
inline constexpr method_code username_password = 0x02;
inline constexpr method_code ssl_iana = 0x06;  // IANA's entry for the SSL draft
inline constexpr method_code ssl = 0x86;       // what the SSL draft itself says
inline constexpr method_code no_acceptable = 0xff;
}  // namespace method

namespace wire {

inline constexpr byte socks_version = 0x05;

struct method_request {
  std::vector<method_code> methods;  // 1-255 codes, in the client's order of preference
  friend bool operator==(const method_request&, const method_request&) = default;
};

struct method_selection {
  method_code method = method::no_acceptable;
  friend bool operator==(const method_selection&, const method_selection&) = default;
};

using method_request_buffer = static_buffer<2 + 255>;
using method_selection_buffer = static_buffer<2>;

// Fails with no_methods for an empty list and trailing_data for more than 255 methods.
std::error_code encode(const method_request& msg, method_request_buffer& out);
method_selection_buffer encode(const method_selection& msg);

parse_result<method_request> parse_method_request(bytes_view input);
parse_result<method_selection> parse_method_selection(bytes_view input);

}  // namespace wire
}  // namespace socks5
