#include "fuzz.hpp"
#include "socks5/wire/proxy_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace socks5::wire;
  const auto in = fuzz::input(data, size);
  auto r = fuzz::checked_parse(parse_proxy_header, in);
  if (r.complete()) {
    FUZZ_CHECK(r.size <= max_proxy_header_size);
    if (r.value.version == 1) FUZZ_CHECK(r.size <= max_proxy_v1_size);
    // Whatever was understood encodes to a header that parses back to the same meaning.
    proxy_header_buffer out;
    FUZZ_CHECK(!encode(r.value, out));
    auto again = fuzz::checked_parse(parse_proxy_header, out.view());
    FUZZ_CHECK(again.complete() && again.size == out.size() && again.value == r.value);
    // A header with nothing after its addresses is already in that form.
    if (r.value.addresses && r.value.version == 2 && r.size == out.size())
      fuzz::check_round_trip(out, in.first(r.size));
  }
  return 0;
}
