// RFC 1928 section 7: the header in front of every relayed UDP datagram.
//   RSV(2)=0000 FRAG ATYP DST.ADDR DST.PORT DATA
#pragma once

#include "socks5/address.hpp"
#include "socks5/wire/address.hpp"

namespace socks5::wire {

struct udp_header {
  byte frag = 0;
  address target;
  friend bool operator==(const udp_header&, const udp_header&) = default;
};

using udp_header_buffer = static_buffer<3 + max_address_size>;

std::error_code encode(const udp_header& msg, udp_header_buffer& out);

// `size` of a complete result is where DATA begins. A datagram is whole or nothing, so an
// incomplete header is reported as incomplete like everywhere else and callers drop it.
// FRAG != 0 fails with fragmented_datagram: fragmentation is not supported.
parse_result<udp_header> parse_udp_header(bytes_view datagram);

}  // namespace socks5::wire
