#include "socks5/wire/udp.hpp"

namespace socks5::wire {

std::error_code encode(const udp_header& msg, udp_header_buffer& out) {
  if (auto ec = validate(msg.target)) return ec;
  out.clear();
  out.push_back(0x00);
  out.push_back(0x00);
  out.push_back(msg.frag);
  append_address(out, msg.target);
  return {};
}

parse_result<udp_header> parse_udp_header(bytes_view in) {
  using result = parse_result<udp_header>;
  if (in.size() < 3) {
    for (std::size_t i = 0; i < in.size() && i < 2; ++i)
      if (in[i] != 0) return result::fail(errc::bad_reserved_field);
    return result::need(4);
  }
  if (in[0] != 0 || in[1] != 0) return result::fail(errc::bad_reserved_field);
  if (in[2] != 0) return result::fail(errc::fragmented_datagram);
  auto addr = parse_address(in.subspan(3));
  if (addr.invalid()) return result::fail(addr.error);
  if (addr.incomplete()) return result::need(3 + addr.size);
  return result::done(3 + addr.size, {0, std::move(addr.value)});
}

}  // namespace socks5::wire
