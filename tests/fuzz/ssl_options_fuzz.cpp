// The SSL method's option message, and its frame rules: VER 01, STATE 01-04, never backwards.
#include "fuzz.hpp"
#include "socks5/wire/frame.hpp"
#include "socks5/wire/ssl_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5::wire;
  const auto in = fuzz::input(data, size);
  auto r = fuzz::checked_parse(parse_ssl_options, in);
  if (r.complete()) {
    ssl_options_buffer out;
    FUZZ_CHECK(!encode(r.value, out));
    fuzz::check_round_trip(out, in.first(r.size));
    FUZZ_CHECK(r.value.options.size() == in[0]);
  }
  // A run of frames: the STATE rule as the SSL method applies it.
  byte last = 0;
  for (std::size_t at = 0; at < size;) {
    auto h = parse_frame_header(in.subspan(at));
    if (!h.complete()) break;
    const byte state = h.value.type;
    const bool allowed =
        state >= frame_type::ssl_handshake && state <= frame_type::ssl_closing && state >= last;
    if (!allowed) break;
    last = state;
    at += h.size + h.value.length;
  }
  return 0;
}
