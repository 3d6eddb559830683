#include <string_view>

#include "fuzz.hpp"
#include "socks5/network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::error_code ec;
  const auto n = socks5::network::parse(text, ec);
  if (ec) return 0;
  // A network holds its own base address, prints in a form that parses back to itself, and
  // is no longer than its family allows.
  FUZZ_CHECK(n.contains(n.base()));
  FUZZ_CHECK(n.prefix_length() <= (n.base().is_v4() ? 32u : 128u));
  std::error_code again_ec;
  const auto again = socks5::network::parse(n.to_string(), again_ec);
  FUZZ_CHECK(!again_ec && again == n);
  return 0;
}
