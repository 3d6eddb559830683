// Byte-string helpers for exact-byte assertions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "socks5/wire/buffer.hpp"

namespace test {

using bytes = std::vector<std::uint8_t>;

inline bytes b(std::initializer_list<int> values) {
  bytes out;
  for (int v : values)
    out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

inline bytes operator+(bytes a, const bytes& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

inline bytes text(std::string_view s) {
  return bytes(s.begin(), s.end());
}

inline bytes to_bytes(socks5::wire::bytes_view v) {
  return bytes(v.begin(), v.end());
}

inline std::string hex(const bytes& v) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto c : v) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace test
