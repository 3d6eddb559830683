// VER | TYPE | LEN | DATA: the framing shared by RFC 1961 (TYPE is MTYP) and the SSL draft
// (TYPE is STATE). VER is 01 in both; the RFC 1961 abort message is VER, X'FF' and nothing else.
#pragma once

#include <cstdint>

#include "socks5/wire/buffer.hpp"

namespace socks5::wire {

inline constexpr byte frame_version = 0x01;
inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::size_t max_frame_body = 0xffff;

namespace frame_type {
inline constexpr byte gss_authentication = 0x01;  // RFC 1961 MTYP 01
inline constexpr byte gss_protection = 0x02;      // RFC 1961 MTYP 02
inline constexpr byte data = 0x03;                // MTYP 03 / STATE 03: encapsulated user data
inline constexpr byte ssl_handshake = 0x01;       // SSL draft STATE 01
inline constexpr byte ssl_options = 0x02;         // SSL draft STATE 02
inline constexpr byte ssl_closing = 0x04;         // SSL draft STATE 04
inline constexpr byte abort = 0xff;               // RFC 1961: VER, X'FF', no LEN
}  // namespace frame_type

struct frame_header {
  byte type = 0;
  std::uint16_t length = 0;  // 0 for an abort message
  friend bool operator==(const frame_header&, const frame_header&) = default;
};

// An abort message completes after 2 octets; any other frame header after 4.
parse_result<frame_header> parse_frame_header(bytes_view input);

inline void encode_frame_header(byte type, std::uint16_t length, byte* out) noexcept {
  out[0] = frame_version;
  out[1] = type;
  out[2] = static_cast<byte>(length >> 8);
  out[3] = static_cast<byte>(length & 0xff);
}

}  // namespace socks5::wire
