// Errors of the socks5 library: one enum, one category, and the conditions callers test for.
#pragma once

#include "socks5/detail/config.hpp"

#include <cstdint>
#include <string>
#include <system_error>

namespace socks5 {

// Values 1-8 are the RFC 1928 reply codes, so a reply maps to an error by value. Their
// messages name the proxy as the one that failed and give the code, e.g. "proxy refused the
// connection to the target (X'05')", so that they never read like the local network errors of
// the same name (std::errc::connection_refused's "Connection refused").
enum class errc : int {
  // Reply codes received from (or sent by) a proxy.
  general_failure = 1,
  not_allowed = 2,
  network_unreachable = 3,
  host_unreachable = 4,
  connection_refused = 5,
  ttl_expired = 6,
  command_not_supported = 7,
  address_type_not_supported = 8,
  unknown_reply_code = 9,  // a REP outside 01-08

  // Malformed input.
  bad_version = 20,           // VER is not the one the message requires
  no_methods = 21,            // NMETHODS is 0
  bad_address_type = 22,      // ATYP is not 01, 03 or 04
  empty_domain_name = 23,     // domain name length 0
  bad_domain_name = 24,       // contains a NUL octet
  domain_name_too_long = 25,  // more than 255 octets (encoding only)
  truncated_message = 26,     // input ends before the message does
  trailing_data = 27,         // octets after the end of the message
  bad_command = 28,           // CMD is not 01, 02 or 03
  bad_reserved_field = 29,    // RSV is not zero
  credential_too_long = 30,   // user name or password over 255 octets (encoding only)
  fragmented_datagram = 31,   // UDP FRAG is not zero
  bad_frame_version = 32,     // a VER|TYPE|LEN frame whose VER is not 01
  bad_frame_type = 33,        // a frame type (MTYP, STATE) not allowed at this point
  truncated_frame = 34,       // the stream ended inside a frame
  frame_too_large = 35,       // a token or record that does not fit in 65535 octets
  empty_token = 36,           // a zero-length token where the context still needs one
  unexpected_token = 37,      // a token after the context was already complete
  bad_ssl_options = 38,       // SSL method: an empty or malformed option message
  bad_state = 39,             // SSL method: a STATE that is unknown or goes backwards

  // Negotiation.
  no_acceptable_methods = 40,  // the server answered X'FF'
  unoffered_method = 41,       // the server selected a method the client did not offer
  auth_failed = 42,            // the peer rejected the credentials
  auth_rejected_by_policy = 43,
  peer_aborted = 44,               // the peer sent the abort message (RFC 1961: 01 FF)
  mutual_auth_required = 45,       // the context was established without mutual authentication
  replay_detection_required = 68,  // ... or without replay and sequence detection
  protection_level_rejected = 46,  // no protection level both sides accept
  protection_mismatch = 47,        // a message protected other than the agreed level says
  replayed_message = 48,           // a duplicate, old, reordered or missing message
  credentials_unavailable = 49,    // no ticket, no keytab entry: nothing to authenticate with
  credentials_expired = 54,        // the ticket-granting ticket has expired
  missing_close_notify = 55,       // the TLS peer closed the connection without close_notify
  certificate_pin_mismatch = 56,   // the server's certificate is not the pinned one
  unsolicited_options = 57,        // the server answered an option the client did not offer
  udp_unavailable = 58,  // UDP is not available under the negotiated method (SSL without UDP-Naked)
  association_closed = 59,  // the UDP association's control connection has ended

  // PROXY protocol header (HAProxy's "The PROXY protocol Versions 1 & 2") in front of a
  // connection.
  proxy_bad_signature = 60,        // neither the v2 signature nor "PROXY " (v1)
  proxy_bad_version = 61,          // v2: a version other than 2
  proxy_bad_command = 62,          // v2: a command other than LOCAL (0) or PROXY (1)
  proxy_bad_address_family = 63,   // v2: an address family or transport the spec does not define
  proxy_unsupported_address = 64,  // UDP or unix-socket addresses: not a TCP client to attribute
  proxy_address_too_short = 65,    // v2: an address block shorter than its family requires
  proxy_header_too_long = 66,      // v2: length beyond max_proxy_v2_length; v1: no CRLF in 107
  proxy_bad_text_header = 67,      // v1: a line that does not match the format exactly

  // Server-side limits and timers.
  handshake_timeout = 50,
  idle_timeout = 51,
  connection_limit = 52,
  server_stopping = 53,
};

enum class condition : int {
  auth_failure = 1,        // authentication did not succeed
  protocol_violation = 2,  // the peer sent something the protocol does not allow
  rejected_by_proxy = 3,   // the proxy answered with a failure reply code
};

const std::error_category& socks5_category() noexcept;
const std::error_category& condition_category() noexcept;

// GSS-API failures: "gssapi" holds GSS major status (routine errors, e.g. GSS_S_BAD_SIG) and
// "gssapi.mech" the mechanism's minor status (for Kerberos, krb5 error codes such as
// KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN). Messages come from gss_display_status; both are
// equivalent to condition::auth_failure.
const std::error_category& gss_category() noexcept;
const std::error_category& gss_mechanism_category() noexcept;

// TLS failures of the SSL method: "tls" holds BoringSSL's packed error codes (ERR_get_error),
// "tls.verify" the certificate verification result (X509_V_ERR_*). Both are equivalent to
// condition::auth_failure.
const std::error_category& tls_category() noexcept;
const std::error_category& tls_verify_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), socks5_category()};
}
inline std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

// RFC 1928 REP field values.
enum class reply_code : std::uint8_t {
  succeeded = 0x00,
  general_failure = 0x01,
  not_allowed = 0x02,
  network_unreachable = 0x03,
  host_unreachable = 0x04,
  connection_refused = 0x05,
  ttl_expired = 0x06,
  command_not_supported = 0x07,
  address_type_not_supported = 0x08,
};

// REP received from a proxy -> error (empty for 00).
std::error_code error_from_reply(std::uint8_t rep) noexcept;

// Any failure (ours, the network's, the resolver's) -> the REP a server sends for it.
reply_code reply_for(const std::error_code& ec) noexcept;

}  // namespace socks5

template <>
struct std::is_error_code_enum<socks5::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<socks5::condition> : std::true_type {};
