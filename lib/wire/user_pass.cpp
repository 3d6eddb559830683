#include "socks5/wire/user_pass.hpp"

namespace socks5::wire {

std::error_code encode(const user_pass_request& msg, user_pass_request_buffer& out) {
  if (msg.username.size() > 255 || msg.password.size() > 255) return errc::credential_too_long;
  out.clear();
  out.push_back(user_pass_version);
  out.push_back(static_cast<byte>(msg.username.size()));
  out.append(msg.username.data(), msg.username.size());
  out.push_back(static_cast<byte>(msg.password.size()));
  out.append(msg.password.data(), msg.password.size());
  return {};
}

user_pass_reply_buffer encode(const user_pass_reply& msg) {
  user_pass_reply_buffer out;
  out.push_back(user_pass_version);
  out.push_back(msg.status);
  return out;
}

parse_result<user_pass_request> parse_user_pass_request(bytes_view in) {
  using result = parse_result<user_pass_request>;
  if (in.empty()) return result::need(2);
  if (in[0] != user_pass_version) return result::fail(errc::bad_version);
  if (in.size() < 2) return result::need(2);
  const std::size_t ulen = in[1];
  const std::size_t plen_at = 2 + ulen;
  if (in.size() < plen_at + 1) return result::need(plen_at + 1);
  const std::size_t plen = in[plen_at];
  const std::size_t size = plen_at + 1 + plen;
  if (in.size() < size) return result::need(size);
  const auto* p = reinterpret_cast<const char*>(in.data());
  return result::done(size, {std::string(p + 2, ulen), std::string(p + plen_at + 1, plen)});
}

parse_result<user_pass_reply> parse_user_pass_reply(bytes_view in) {
  using result = parse_result<user_pass_reply>;
  if (in.empty()) return result::need(2);
  if (in[0] != user_pass_version) return result::fail(errc::bad_version);
  if (in.size() < 2) return result::need(2);
  return result::done(2, {in[1]});
}

}  // namespace socks5::wire
