#include "fuzz.hpp"
#include "socks5/wire/method.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5::wire;
  const auto in = fuzz::input(data, size);
  auto r = fuzz::checked_parse(parse_method_request, in);
  if (r.complete()) {
    method_request_buffer out;
    FUZZ_CHECK(!encode(r.value, out));
    fuzz::check_round_trip(out, in.first(r.size));
  }
  auto s = fuzz::checked_parse(parse_method_selection, in);
  if (s.complete()) fuzz::check_round_trip(encode(s.value), in.first(s.size));
  return 0;
}
