// RFC 1929: username/password sub-negotiation.
//   client: VER=01 ULEN UNAME(ULEN) PLEN PASSWD(PLEN)
//   server: VER=01 STATUS          00 = success
#pragma once

#include <string>

#include "socks5/wire/buffer.hpp"

namespace socks5::wire {

inline constexpr byte user_pass_version = 0x01;

struct user_pass_request {
  // Up to 255 octets each. Empty fields are accepted when parsed: curl sends an empty
  // password as PLEN 0, and the verifier is the one to decide.
  std::string username;
  std::string password;
  friend bool operator==(const user_pass_request&, const user_pass_request&) = default;
};

struct user_pass_reply {
  byte status = 0xff;
  bool success() const noexcept { return status == 0; }
  friend bool operator==(const user_pass_reply&, const user_pass_reply&) = default;
};

using user_pass_request_buffer = static_buffer<1 + 1 + 255 + 1 + 255>;
using user_pass_reply_buffer = static_buffer<2>;

// Fails with credential_too_long when a field exceeds 255 octets.
std::error_code encode(const user_pass_request& msg, user_pass_request_buffer& out);
user_pass_reply_buffer encode(const user_pass_reply& msg);

parse_result<user_pass_request> parse_user_pass_request(bytes_view input);
parse_result<user_pass_reply> parse_user_pass_reply(bytes_view input);

}  // namespace socks5::wire
