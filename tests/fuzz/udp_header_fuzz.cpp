#include "fuzz.hpp"
#include "socks5/wire/udp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5::wire;
  const auto in = fuzz::input(data, size);
  auto r = fuzz::checked_parse(parse_udp_header, in);
  if (r.complete()) {
    udp_header_buffer out;
    FUZZ_CHECK(!encode(r.value, out));
    fuzz::check_round_trip(out, in.first(r.size));
  }
  return 0;
}
