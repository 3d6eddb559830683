#include "socks5/wire/request.hpp"

namespace socks5::wire {
namespace {

template <class Buffer>
std::error_code encode_message(byte second, const address& a, Buffer& out) {
  if (auto ec = validate(a)) return ec;
  out.clear();
  out.push_back(socks_version);
  out.push_back(second);
  out.push_back(0x00);
  append_address(out, a);
  return {};
}

// VER, the second octet (checked by `second_ok`, failing with `bad_second`), RSV, then the
// address block; every field is checked as soon as its octets are there.
template <class Message, class Check>
parse_result<Message> parse_message(bytes_view in, Check second_ok, errc bad_second) {
  using result = parse_result<Message>;
  if (in.empty()) return result::need(4);
  if (in[0] != socks_version) return result::fail(errc::bad_version);
  if (in.size() < 2) return result::need(4);
  if (!second_ok(in[1])) return result::fail(bad_second);
  if (in.size() < 3) return result::need(4);
  if (in[2] != 0) return result::fail(errc::bad_reserved_field);
  auto addr = parse_address(in.subspan(3));
  if (addr.invalid()) return result::fail(addr.error);
  if (addr.incomplete()) return result::need(3 + addr.size);
  return result::done(3 + addr.size, Message{{in[1]}, std::move(addr.value)});
}

struct raw_request {
  byte cmd;
  address target;
};

}  // namespace

std::error_code encode(const request& msg, request_buffer& out) {
  return encode_message(static_cast<byte>(msg.cmd), msg.target, out);
}

std::error_code encode(const reply& msg, reply_buffer& out) {
  return encode_message(msg.rep, msg.bound, out);
}

parse_result<request> parse_request(bytes_view in) {
  auto raw = parse_message<raw_request>(
      in, [](byte cmd) { return cmd >= 0x01 && cmd <= 0x03; }, errc::bad_command);
  if (!raw.complete()) return {raw.status, raw.size, raw.error, {}};
  return parse_result<request>::done(
      raw.size, {static_cast<command>(raw.value.cmd), std::move(raw.value.target)});
}

parse_result<reply> parse_reply(bytes_view in) {
  return parse_message<reply>(
      in, [](byte) { return true; }, errc::unknown_reply_code);
}

}  // namespace socks5::wire
