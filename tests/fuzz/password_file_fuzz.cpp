// The users file: whatever the text, parse() either names a bad line inside it or loads a table
// in which every credential line of the text verifies, and nothing else does.
#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "socks5/auth/password_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::error_code ec;
  std::size_t error_line = 0;
  const auto file = socks5::password_file::parse(text, ec, &error_line);
  std::size_t lines = 0, credentials = 0;
  for (std::string_view rest = text; !rest.empty();) {
    ++lines;
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (ec) continue;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    FUZZ_CHECK(colon != std::string_view::npos);
    const auto user = line.substr(0, colon), password = line.substr(colon + 1);
    ++credentials;
    FUZZ_CHECK(file(user, password));
    FUZZ_CHECK(!file(user, std::string(password) + "x"));
    FUZZ_CHECK(!file(std::string(user) + "\n", password));
  }
  if (ec) {
    FUZZ_CHECK(error_line >= 1 && error_line <= lines);
    FUZZ_CHECK(file.size() == 0);
    FUZZ_CHECK(!file("", ""));
    return 0;
  }
  FUZZ_CHECK(file.size() == credentials);
  return 0;
}
