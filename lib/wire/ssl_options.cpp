#include "socks5/wire/ssl_options.hpp"

#include <algorithm>

namespace socks5::wire {

bool ssl_options::has(byte option) const noexcept {
  return std::find(options.begin(), options.end(), option) != options.end();
}

std::error_code encode(const ssl_options& msg, ssl_options_buffer& out) {
  if (msg.options.size() > 255) return errc::bad_ssl_options;
  out.clear();
  out.push_back(static_cast<byte>(msg.options.size()));
  out.append(msg.options.data(), msg.options.size());
  return {};
}

parse_result<ssl_options> parse_ssl_options(bytes_view in) {
  using result = parse_result<ssl_options>;
  if (in.empty()) return result::need(1);
  const std::size_t count = in[0];
  if (in.size() < 1 + count) return result::need(1 + count);
  return result::done(1 + count,
                      {{in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(count)}});
}

}  // namespace socks5::wire
