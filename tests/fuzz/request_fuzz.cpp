#include "fuzz.hpp"
#include "socks5/wire/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5::wire;
  const auto in = fuzz::input(data, size);
  auto r = fuzz::checked_parse(parse_request, in);
  if (r.complete()) {
    request_buffer out;
    FUZZ_CHECK(!encode(r.value, out));
    fuzz::check_round_trip(out, in.first(r.size));
  }
  auto s = fuzz::checked_parse(parse_reply, in);
  if (s.complete()) {
    reply_buffer out;
    FUZZ_CHECK(!encode(s.value, out));
    fuzz::check_round_trip(out, in.first(s.size));
  }
  return 0;
}
