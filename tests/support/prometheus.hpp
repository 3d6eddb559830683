// Reading the Prometheus text format that the metrics endpoint serves.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace test {

// The value of the series named exactly `series` (name and labels); -1 when it is missing or
// its value is not a whole number alone on its line. A number rather than an optional, so that a
// failed check prints what was there.
inline std::int64_t metric_value(const std::string& text, const std::string& series) {
  const auto at = ("\n" + text).find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  const char* begin = text.data() + at + series.size() + 1;
  const char* text_end = text.data() + text.size();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(begin, text_end, v);
  if (ec != std::errc{} || end == text_end || *end != '\n') return -1;
  return v;
}

}  // namespace test
