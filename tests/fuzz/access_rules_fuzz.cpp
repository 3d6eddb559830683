#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "socks5/access_rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto rules = socks5::access_rules::parse(text, error);
  // A failure always says where and why.
  if (!rules) {
    FUZZ_CHECK(error.rfind("line ", 0) == 0);
    return 0;
  }
  // Every rule prints in a form that parses back to itself.
  for (const auto& rule : rules->rules()) {
    std::string again_error;
    const auto again = socks5::access_rule::parse(rule.to_string(), again_error);
    FUZZ_CHECK(again && *again == rule);
    FUZZ_CHECK(!rule.ports || rule.ports->first <= rule.ports->last);
    FUZZ_CHECK(!(rule.target_network && !rule.target_name.empty()));
  }
  return 0;
}
