#include "socks5/wire/frame.hpp"

namespace socks5::wire {

parse_result<frame_header> parse_frame_header(bytes_view in) {
  using result = parse_result<frame_header>;
  if (in.empty()) return result::need(2);
  if (in[0] != frame_version) return result::fail(errc::bad_frame_version);
  if (in.size() < 2) return result::need(2);
  if (in[1] == frame_type::abort) return result::done(2, {frame_type::abort, 0});
  if (in.size() < frame_header_size) return result::need(frame_header_size);
  return result::done(frame_header_size, {in[1], get_u16(in.data() + 2)});
}

}  // namespace socks5::wire
