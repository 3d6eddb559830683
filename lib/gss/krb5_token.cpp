#include "krb5_token.hpp"

#include <algorithm>
#include <array>

namespace socks5::gss {

namespace {

// 1.2.840.113554.1.2.2, DER-encoded with its tag and length.
constexpr std::array<wire::byte, 11> krb5_oid = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                 0xf7, 0x12, 0x01, 0x02, 0x02};

// Reads a DER length at `at`; false when it is malformed or longer than four octets.
bool read_length(wire::bytes_view in, std::size_t& at, std::size_t& length) {
  if (at >= in.size()) return false;
  const wire::byte first = in[at++];
  if (first < 0x80) {
    length = first;
    return true;
  }
  const std::size_t octets = first & 0x7f;
  if (octets == 0 || octets > 4 || in.size() - at < octets) return false;
  length = 0;
  for (std::size_t i = 0; i < octets; ++i)
    length = (length << 8) | in[at++];
  return true;
}

}  // namespace

bool is_krb5_reply_token(wire::bytes_view token) noexcept {
  std::size_t at = 0, length = 0;
  if (token.empty() || token[at++] != 0x60) return false;
  if (!read_length(token, at, length) || length != token.size() - at) return false;
  const auto rest = token.subspan(at);
  if (rest.size() < krb5_oid.size() + 2) return false;
  if (!std::equal(krb5_oid.begin(), krb5_oid.end(), rest.begin())) return false;
  const wire::byte high = rest[krb5_oid.size()], low = rest[krb5_oid.size() + 1];
  return (high == 0x02 || high == 0x03) && low == 0x00;
}

}  // namespace socks5::gss
