// The framing of a Kerberos V5 GSS-API context token (RFC 1964 section 1.1, RFC 4121 section 4.1):
// [APPLICATION 0] { the mechanism's OID, a two-octet TOK_ID, the Kerberos message }.
#pragma once

#include "socks5/wire/buffer.hpp"

namespace socks5::gss {

// True when `token` is framed as the Kerberos mechanism's answer to an initiator: its OID, and
// TOK_ID 02 00 (AP-REP) or 03 00 (KRB-ERROR), with a length that covers exactly the token. Heimdal
// 7.8's gss_init_sec_context reads an uninitialized buffer for any other reply token, so a
// hostile server could crash the client with a few octets: such tokens never reach it.
bool is_krb5_reply_token(wire::bytes_view token) noexcept;

}  // namespace socks5::gss
