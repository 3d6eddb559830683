// "host:port" as a user writes it (a target, a listen address): whatever the text, parse() either
// refuses it or returns an address whose own text parses back to the same address.
#include <string_view>

#include "fuzz.hpp"
#include "socks5/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::error_code ec;
  const auto a = socks5::address::parse(text, ec);
  if (ec) return 0;
  FUZZ_CHECK(!a.host().empty());
  // A domain name never holds what would make its text ambiguous: a colon outside brackets.
  if (a.is_domain()) FUZZ_CHECK(a.domain_name().find(':') == std::string::npos);
  std::error_code again_ec;
  const auto again = socks5::address::parse(a.to_string(), again_ec);
  FUZZ_CHECK(!again_ec);
  FUZZ_CHECK(again == a);
  return 0;
}
