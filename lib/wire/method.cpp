#include "socks5/wire/method.hpp"

namespace socks5::wire {

std::error_code encode(const method_request& msg, method_request_buffer& out) {
  if (msg.methods.empty()) return errc::no_methods;
  if (msg.methods.size() > 255) return errc::trailing_data;
  out.clear();
  out.push_back(socks_version);
  out.push_back(static_cast<byte>(msg.methods.size()));
  out.append(msg.methods.data(), msg.methods.size());
  return {};
}

method_selection_buffer encode(const method_selection& msg) {
  method_selection_buffer out;
  out.push_back(socks_version);
  out.push_back(msg.method);
  return out;
}

parse_result<method_request> parse_method_request(bytes_view in) {
  using result = parse_result<method_request>;
  if (in.empty()) return result::need(2);
  if (in[0] != socks_version) return result::fail(errc::bad_version);
  if (in.size() < 2) return result::need(2);
  const std::size_t count = in[1];
  if (count == 0) return result::fail(errc::no_methods);
  if (in.size() < 2 + count) return result::need(2 + count);
  return result::done(2 + count, {{in.begin() + 2, in.begin() + 2 + count}});
}

parse_result<method_selection> parse_method_selection(bytes_view in) {
  using result = parse_result<method_selection>;
  if (in.empty()) return result::need(2);
  if (in[0] != socks_version) return result::fail(errc::bad_version);
  if (in.size() < 2) return result::need(2);
  return result::done(2, {in[1]});
}

}  // namespace socks5::wire
