#include "socks5/wire/proxy_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

namespace socks5::wire {
namespace {

using asio::ip::tcp;

constexpr byte family_unspec = 0x0;
constexpr byte family_inet = 0x1;
constexpr byte family_inet6 = 0x2;
constexpr byte family_unix = 0x3;
constexpr byte transport_unspec = 0x0;
constexpr byte transport_stream = 0x1;
constexpr byte transport_dgram = 0x2;

constexpr std::size_t inet_block = 2 * 4 + 2 * 2;
constexpr std::size_t inet6_block = 2 * 16 + 2 * 2;

constexpr std::string_view v1_prefix = "PROXY ";
// The shortest lines of each kind, so that a short header is read in few steps.
constexpr std::size_t v1_min_unknown = 15;  // "PROXY UNKNOWN\r\n"
constexpr std::size_t v1_min_tcp4 = 32;     // "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n"
constexpr std::size_t v1_min_tcp6 = 22;     // "PROXY TCP6 :: :: 0 0\r\n"

std::string_view text_of(bytes_view in) {
  return {reinterpret_cast<const char*>(in.data()), in.size()};
}

// ---- version 2 ----

parse_result<proxy_header> parse_v2(bytes_view in) {
  using result = parse_result<proxy_header>;
  const std::size_t sig = std::min(in.size(), sizeof proxy_v2_signature);
  if (!std::equal(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(sig), proxy_v2_signature))
    return result::fail(errc::proxy_bad_signature);
  if (in.size() < 13) return result::need(proxy_v2_fixed_size);
  if ((in[12] >> 4) != 2) return result::fail(errc::proxy_bad_version);
  const byte command = in[12] & 0x0f;
  if (command > static_cast<byte>(proxy_command::proxy))
    return result::fail(errc::proxy_bad_command);
  if (in.size() < proxy_v2_fixed_size) return result::need(proxy_v2_fixed_size);

  const std::size_t length = get_u16(in.data() + 14);
  if (length > max_proxy_v2_length) return result::fail(errc::proxy_header_too_long);
  const std::size_t size = proxy_v2_fixed_size + length;

  proxy_header header;
  header.version = 2;
  header.command = static_cast<proxy_command>(command);
  // LOCAL: the family is ignored, and so is whatever address block comes with it.
  std::size_t block = 0;
  if (header.command == proxy_command::proxy) {
    const byte family = in[13] >> 4;
    const byte transport = in[13] & 0x0f;
    if (family > family_unix || transport > transport_dgram)
      return result::fail(errc::proxy_bad_address_family);
    if (family != family_unspec && transport != transport_unspec) {
      if (family == family_unix || transport == transport_dgram)
        return result::fail(errc::proxy_unsupported_address);
      block = family == family_inet ? inet_block : inet6_block;
      if (length < block) return result::fail(errc::proxy_address_too_short);
    }
  }
  if (in.size() < size) return result::need(size);

  const byte* p = in.data() + proxy_v2_fixed_size;
  if (block == inet_block) {
    asio::ip::address_v4::bytes_type src, dst;
    std::copy_n(p, 4, src.begin());
    std::copy_n(p + 4, 4, dst.begin());
    header.addresses = proxy_addresses{{asio::ip::address_v4(src), get_u16(p + 8)},
                                       {asio::ip::address_v4(dst), get_u16(p + 10)}};
  } else if (block == inet6_block) {
    asio::ip::address_v6::bytes_type src, dst;
    std::copy_n(p, 16, src.begin());
    std::copy_n(p + 16, 16, dst.begin());
    header.addresses = proxy_addresses{{asio::ip::address_v6(src), get_u16(p + 32)},
                                       {asio::ip::address_v6(dst), get_u16(p + 34)}};
  }
  // TLVs after the address block are skipped: LEN bounds them.
  return result::done(size, std::move(header));
}

// ---- version 1 ----

// A decimal number without heading zeros, at most `max`.
std::optional<unsigned> v1_number(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Exactly four numbers 0-255, no heading zeros, one dot between each.
std::optional<asio::ip::address> v1_ipv4(std::string_view s) {
  asio::ip::address_v4::bytes_type octets{};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const auto n = v1_number(s.substr(0, dot), 255);
    if (!n) return std::nullopt;
    octets[i] = static_cast<unsigned char>(*n);
    s = i < 3 ? s.substr(dot + 1) : std::string_view{};
  }
  return asio::ip::address(asio::ip::address_v4(octets));
}

// Hex groups and colons (an IPv4 tail allowed); no zone index.
std::optional<asio::ip::address> v1_ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return std::nullopt;
  }
  std::error_code ec;
  const auto a = asio::ip::make_address_v6(std::string(s), ec);
  if (ec) return std::nullopt;
  return asio::ip::address(a);
}

// "SRC DST SPORT DPORT" of a TCP4 or TCP6 line, between the protocol's space and the CRLF.
std::optional<proxy_addresses> v1_addresses(std::string_view s, bool v6) {
  std::string_view fields[4];
  for (std::size_t i = 0; i < 4; ++i) {
    const auto space = i < 3 ? s.find(' ') : s.size();
    if (space == std::string_view::npos) return std::nullopt;
    fields[i] = s.substr(0, space);
    s = i < 3 ? s.substr(space + 1) : std::string_view{};
  }
  const auto src = v6 ? v1_ipv6(fields[0]) : v1_ipv4(fields[0]);
  const auto dst = v6 ? v1_ipv6(fields[1]) : v1_ipv4(fields[1]);
  const auto sport = v1_number(fields[2], 65535);
  const auto dport = v1_number(fields[3], 65535);
  if (!src || !dst || !sport || !dport) return std::nullopt;
  return proxy_addresses{{*src, static_cast<std::uint16_t>(*sport)},
                         {*dst, static_cast<std::uint16_t>(*dport)}};
}

parse_result<proxy_header> parse_v1(bytes_view in) {
  using result = parse_result<proxy_header>;
  const std::string_view text = text_of(in);
  const std::size_t sig = std::min(text.size(), v1_prefix.size());
  if (text.substr(0, sig) != v1_prefix.substr(0, sig))
    return result::fail(errc::proxy_bad_signature);

  // The protocol, as far as it has arrived.
  std::size_t least = v1_min_unknown;
  const std::string_view rest = text.substr(sig);
  const std::string_view protocol = rest.substr(0, std::min<std::size_t>(rest.size(), 8));
  bool known = false;
  for (auto [name, min] : {std::pair<std::string_view, std::size_t>{"TCP4 ", v1_min_tcp4},
                           {"TCP6 ", v1_min_tcp6},
                           {"UNKNOWN\r", v1_min_unknown},
                           {"UNKNOWN ", v1_min_unknown}}) {
    const auto n = std::min(protocol.size(), name.size());
    if (protocol.substr(0, n) != name.substr(0, n)) continue;
    known = true;
    if (n == name.size()) least = min;
  }
  if (!known) return result::fail(errc::proxy_bad_text_header);

  // Only the CRLF ends the line; a CR or LF anywhere else is an error.
  const auto lf = text.find('\n');
  const auto cr = text.find('\r');
  if (lf != std::string_view::npos && (cr == std::string_view::npos || lf != cr + 1))
    return result::fail(errc::proxy_bad_text_header);
  if (cr != std::string_view::npos && cr + 1 < text.size() && lf != cr + 1)
    return result::fail(errc::proxy_bad_text_header);
  if (lf == std::string_view::npos) {
    // The shortest this line can still be: its CRLF, or the LF after a CR it ends with.
    const std::size_t shortest = text.size() + (cr == std::string_view::npos ? 2 : 1);
    if (shortest > max_proxy_v1_size) return result::fail(errc::proxy_header_too_long);
    return result::need(std::max(text.size() + 1, least));
  }

  const std::size_t size = lf + 1;
  if (size > max_proxy_v1_size) return result::fail(errc::proxy_header_too_long);
  const std::string_view line = text.substr(v1_prefix.size(), cr - v1_prefix.size());
  proxy_header header;
  header.version = 1;
  header.command = proxy_command::proxy;
  if (line.starts_with("UNKNOWN")) return result::done(size, std::move(header));
  const bool v6 = line.starts_with("TCP6 ");
  header.addresses = v1_addresses(line.substr(5), v6);
  if (!header.addresses) return result::fail(errc::proxy_bad_text_header);
  return result::done(size, std::move(header));
}

void put_address(proxy_header_buffer& out, const asio::ip::address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    out.append(b.data(), b.size());
  } else {
    const auto b = a.to_v6().to_bytes();
    out.append(b.data(), b.size());
  }
}

}  // namespace

std::error_code encode(const proxy_header& msg, proxy_header_buffer& out) {
  const auto* a = msg.addresses ? &*msg.addresses : nullptr;
  if (a && a->source.address().is_v4() != a->destination.address().is_v4())
    return errc::proxy_unsupported_address;
  out.clear();
  if (msg.version == 1) {
    std::string line(v1_prefix);
    if (!a) {
      line += "UNKNOWN";
    } else {
      line += a->source.address().is_v4() ? "TCP4 " : "TCP6 ";
      line += a->source.address().to_string() + ' ' + a->destination.address().to_string() + ' ' +
              std::to_string(a->source.port()) + ' ' + std::to_string(a->destination.port());
    }
    line += "\r\n";
    if (line.size() > max_proxy_v1_size) return errc::proxy_header_too_long;
    out.append(line.data(), line.size());
    return {};
  }
  out.append(proxy_v2_signature, sizeof proxy_v2_signature);
  out.push_back(static_cast<byte>(0x20 | static_cast<byte>(msg.command)));
  if (!a || msg.command == proxy_command::local) {
    out.push_back(static_cast<byte>(family_unspec << 4 | transport_unspec));
    out.put_u16(0);
    return {};
  }
  const bool v4 = a->source.address().is_v4();
  out.push_back(static_cast<byte>((v4 ? family_inet : family_inet6) << 4 | transport_stream));
  out.put_u16(static_cast<std::uint16_t>(v4 ? inet_block : inet6_block));
  put_address(out, a->source.address());
  put_address(out, a->destination.address());
  out.put_u16(a->source.port());
  out.put_u16(a->destination.port());
  return {};
}

parse_result<proxy_header> parse_proxy_header(bytes_view in) {
  using result = parse_result<proxy_header>;
  // One octet tells the versions apart; asking for more could read into what follows a short
  // v1 line, or wait for octets a client without a header will never send.
  if (in.empty()) return result::need(1);
  if (in[0] == proxy_v2_signature[0]) return parse_v2(in);
  if (in[0] == static_cast<byte>(v1_prefix[0])) return parse_v1(in);
  return result::fail(errc::proxy_bad_signature);
}

}  // namespace socks5::wire
