// The protection-level token of RFC 1961 section 4: one octet, gss_wrap'ed with conf_req FALSE
// (a peer's TRUE-wrapped token is accepted too), or sent raw in NEC form.
#pragma once

#include <vector>

#include "handles.hpp"
#include "socks5/auth/gssapi.hpp"

namespace socks5::gss {

// A NEC-form level message is the raw octet, LEN 1; a wrapped token is never one octet long (a
// Kerberos wrap token has a 16-octet header), so the length alone tells the two forms apart.
inline bool is_raw_level(wire::bytes_view body) {
  return body.size() == 1;
}

// `nec`: the octet raw instead of wrapped.
std::error_code encode_level(gss_ctx_id_t context, gss_level level, bool nec,
                             std::vector<wire::byte>& body);

// Fails with protection_level_rejected for anything but one octet naming level 0-3.
std::error_code decode_level(gss_ctx_id_t context, wire::bytes_view body, bool nec,
                             gss_level& level);

}  // namespace socks5::gss
