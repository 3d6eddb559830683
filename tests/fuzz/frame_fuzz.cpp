// VER|TYPE|LEN frames: the header parser, and the RFC 1961 message reader the GSS-API machines
// read with, fed the input as reads of the sizes it asks for.
#include <algorithm>

#include "../../lib/gss/message.hpp"
#include "fuzz.hpp"
#include "socks5/wire/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5;
  const auto in = fuzz::input(data, size);
  auto h = fuzz::checked_parse(wire::parse_frame_header, in);
  if (h.complete()) {
    FUZZ_CHECK(h.size == (h.value.type == wire::frame_type::abort ? 2u : 4u));
    if (h.size == 4) {
      wire::byte out[4];
      wire::encode_frame_header(h.value.type, h.value.length, out);
      FUZZ_CHECK(std::equal(out, out + 4, in.begin()));
    }
  }

  // Messages one after another until the input runs out or one is malformed.
  gss::message_reader reader;
  std::size_t at = 0;
  for (int messages = 0; messages < 64; ++messages) {
    auth_step step = reader.start();
    for (;;) {
      FUZZ_CHECK(step.what == auth_step::action::read && !step.input.empty());
      FUZZ_CHECK(step.input.size() <= wire::max_frame_body);
      if (!fuzz::feed_read(step.input, fuzz::input(data, size), at)) return 0;
      auto more = reader.advance();
      if (!more) break;
      step = *more;
    }
    if (reader.error()) {
      FUZZ_CHECK(reader.error() == errc::bad_frame_version);
      return 0;
    }
    FUZZ_CHECK(reader.type() != wire::frame_type::abort || reader.token().empty());
  }
  return 0;
}
