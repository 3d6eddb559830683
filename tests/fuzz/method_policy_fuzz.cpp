// The server's method choice by policy (lib/auth/select_method.hpp) against hostile greetings:
// the first octet is how many methods the server is configured with (0-7), the next that many
// octets their codes in its order of preference, the rest the client's greeting.
#include <algorithm>
#include <vector>

#include "../../lib/auth/select_method.hpp"
#include "fuzz.hpp"

namespace {

struct side {
  socks5::method_code method;
  socks5::method_code code() const { return method; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t count = data[0] % 8;
  if (size < 1 + count) return 0;
  std::vector<side> configured;
  for (std::size_t i = 0; i < count; ++i)
    configured.push_back(side{data[1 + i]});
  const auto greeting = fuzz::checked_parse(socks5::wire::parse_method_request,
                                            fuzz::input(data + 1 + count, size - 1 - count));
  if (!greeting.complete()) return 0;
  const auto& offered = greeting.value.methods;
  FUZZ_CHECK(!offered.empty() && offered.size() <= 255);

  const side* chosen = socks5::detail::select_method<side>(configured, offered);
  const auto is_offered = [&](const side& s) {
    return std::find(offered.begin(), offered.end(), s.code()) != offered.end();
  };
  const auto first = std::find_if(configured.begin(), configured.end(), is_offered);
  if (first == configured.end()) {
    FUZZ_CHECK(chosen == nullptr);  // nothing in common: X'FF', never a fallback
    return 0;
  }
  // The server's first preference among what the client offers, and one of its own sides.
  FUZZ_CHECK(chosen == &*first);
  return 0;
}
