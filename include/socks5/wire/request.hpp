// RFC 1928 sections 4 and 6: the request and its reply, which share one layout.
//   request: VER=05 CMD RSV=00 ATYP DST.ADDR DST.PORT
//   reply:   VER=05 REP RSV=00 ATYP BND.ADDR BND.PORT
#pragma once

#include "socks5/address.hpp"
#include "socks5/wire/address.hpp"
#include "socks5/wire/method.hpp"

namespace socks5 {

enum class command : std::uint8_t { connect = 0x01, bind = 0x02, udp_associate = 0x03 };

namespace wire {

struct request {
  command cmd = command::connect;
  address target;
  friend bool operator==(const request&, const request&) = default;
};

struct reply {
  byte rep = 0;  // the raw REP octet: a reply with an unknown code still parses
  address bound;
  friend bool operator==(const reply&, const reply&) = default;
};

using request_buffer = static_buffer<3 + max_address_size>;
using reply_buffer = request_buffer;

// Fail when the address cannot be encoded (see validate()).
std::error_code encode(const request& msg, request_buffer& out);
std::error_code encode(const reply& msg, reply_buffer& out);

// Checks each field as soon as it has arrived, so a bad VER fails on its first octet.
parse_result<request> parse_request(bytes_view input);
parse_result<reply> parse_reply(bytes_view input);

}  // namespace wire
}  // namespace socks5
