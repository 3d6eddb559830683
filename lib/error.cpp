#include "socks5/error.hpp"

#include <asio/error.hpp>

namespace socks5 {
namespace {

class socks5_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "socks5"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      // Reply codes: the proxy is named as the one that failed, so that a refusal by the
      // proxy never reads like a local network error (the OS's "Connection refused").
      case errc::general_failure: return "proxy: general failure (X'01')";
      case errc::not_allowed: return "proxy: connection not allowed by ruleset (X'02')";
      case errc::network_unreachable: return "proxy: network unreachable (X'03')";
      case errc::host_unreachable: return "proxy: host unreachable (X'04')";
      case errc::connection_refused: return "proxy refused the connection to the target (X'05')";
      case errc::ttl_expired: return "proxy: TTL expired (X'06')";
      case errc::command_not_supported: return "proxy: command not supported (X'07')";
      case errc::address_type_not_supported: return "proxy: address type not supported (X'08')";
      case errc::unknown_reply_code: return "proxy: unknown reply code";
      case errc::bad_version: return "wrong protocol version";
      case errc::no_methods: return "no authentication methods offered";
      case errc::bad_address_type: return "unknown address type";
      case errc::empty_domain_name: return "empty domain name";
      case errc::bad_domain_name: return "domain name contains a NUL octet";
      case errc::domain_name_too_long: return "domain name longer than 255 octets";
      case errc::truncated_message: return "message truncated";
      case errc::trailing_data: return "unexpected data after the message";
      case errc::bad_command: return "unknown command";
      case errc::bad_reserved_field: return "reserved field is not zero";
      case errc::credential_too_long: return "user name or password longer than 255 octets";
      case errc::fragmented_datagram: return "fragmented UDP datagram";
      case errc::bad_frame_version: return "frame with a version other than 01";
      case errc::bad_frame_type: return "frame type not allowed here";
      case errc::truncated_frame: return "connection ended inside a frame";
      case errc::frame_too_large: return "token too large for a frame";
      case errc::empty_token: return "empty token while the security context needs one";
      case errc::unexpected_token: return "token after the security context was complete";
      case errc::bad_ssl_options: return "empty or malformed SSL option message";
      case errc::bad_state: return "SSL frame with an unknown STATE or one going backwards";
      case errc::no_acceptable_methods: return "no acceptable authentication method";
      case errc::unoffered_method: return "server selected a method that was not offered";
      case errc::auth_failed: return "authentication failed";
      case errc::auth_rejected_by_policy: return "authentication result rejected by policy";
      case errc::peer_aborted: return "peer aborted the authentication";
      case errc::mutual_auth_required: return "mutual authentication was not established";
      case errc::replay_detection_required:
        return "security context without replay and sequence detection";
      case errc::protection_level_rejected: return "no acceptable protection level";
      case errc::protection_mismatch: return "message protection differs from the agreed level";
      case errc::replayed_message: return "replayed, reordered or missing protected message";
      case errc::credentials_unavailable: return "no credentials to authenticate with";
      case errc::credentials_expired: return "ticket expired";
      case errc::missing_close_notify: return "TLS peer closed without close_notify";
      case errc::certificate_pin_mismatch: return "certificate does not match the pinned SHA-256";
      case errc::unsolicited_options: return "server chose an SSL option that was not offered";
      case errc::udp_unavailable: return "UDP is not available under the negotiated method";
      case errc::association_closed: return "the UDP association's control connection has ended";
      case errc::proxy_bad_signature: return "no PROXY protocol header";
      case errc::proxy_bad_version: return "PROXY protocol header with a version other than 2";
      case errc::proxy_bad_command: return "PROXY protocol header with an unknown command";
      case errc::proxy_bad_address_family:
        return "PROXY protocol header with an undefined address family or transport";
      case errc::proxy_unsupported_address:
        return "PROXY protocol header for UDP or a unix socket, not TCP";
      case errc::proxy_address_too_short:
        return "PROXY protocol address block shorter than its family requires";
      case errc::proxy_header_too_long: return "PROXY protocol header too long";
      case errc::proxy_bad_text_header: return "malformed PROXY protocol text header";
      case errc::handshake_timeout: return "handshake timed out";
      case errc::idle_timeout: return "connection idle for too long";
      case errc::connection_limit: return "connection limit reached";
      case errc::server_stopping: return "server is stopping";
    }
    return "unknown socks5 error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::general_failure:
      case errc::not_allowed:
      case errc::network_unreachable:
      case errc::host_unreachable:
      case errc::connection_refused:
      case errc::ttl_expired:
      case errc::command_not_supported:
      case errc::address_type_not_supported:
      case errc::unknown_reply_code: return condition::rejected_by_proxy;
      case errc::no_acceptable_methods:
      case errc::auth_failed:
      case errc::auth_rejected_by_policy:
      case errc::peer_aborted:
      case errc::mutual_auth_required:
      case errc::replay_detection_required:
      case errc::protection_level_rejected:
      case errc::credentials_unavailable:
      case errc::credentials_expired:
      case errc::certificate_pin_mismatch: return condition::auth_failure;
      case errc::bad_version:
      case errc::no_methods:
      case errc::bad_address_type:
      case errc::empty_domain_name:
      case errc::bad_domain_name:
      case errc::truncated_message:
      case errc::trailing_data:
      case errc::bad_command:
      case errc::bad_reserved_field:
      case errc::fragmented_datagram:
      case errc::bad_frame_version:
      case errc::bad_frame_type:
      case errc::truncated_frame:
      case errc::frame_too_large:
      case errc::empty_token:
      case errc::unexpected_token:
      case errc::bad_ssl_options:
      case errc::bad_state:
      case errc::missing_close_notify:
      case errc::unsolicited_options:
      case errc::protection_mismatch:
      case errc::replayed_message:
      case errc::unoffered_method:
      case errc::proxy_bad_signature:
      case errc::proxy_bad_version:
      case errc::proxy_bad_command:
      case errc::proxy_bad_address_family:
      case errc::proxy_unsupported_address:
      case errc::proxy_address_too_short:
      case errc::proxy_header_too_long:
      case errc::proxy_bad_text_header: return condition::protocol_violation;
      default: return {value, *this};
    }
  }
};

class condition_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "socks5.condition"; }

  std::string message(int value) const override {
    switch (static_cast<condition>(value)) {
      case condition::auth_failure: return "authentication failure";
      case condition::protocol_violation: return "protocol violation";
      case condition::rejected_by_proxy: return "request rejected by the proxy";
    }
    return "unknown socks5 condition";
  }
};

}  // namespace

const std::error_category& socks5_category() noexcept {
  static const socks5_category_impl instance;
  return instance;
}

const std::error_category& condition_category() noexcept {
  static const condition_category_impl instance;
  return instance;
}

std::error_code error_from_reply(std::uint8_t rep) noexcept {
  if (rep == 0) return {};
  if (rep <= 8) return make_error_code(static_cast<errc>(rep));
  return errc::unknown_reply_code;
}

reply_code reply_for(const std::error_code& ec) noexcept {
  if (ec.category() == socks5_category()) {
    const int v = ec.value();
    if (v >= 1 && v <= 8) return static_cast<reply_code>(v);
    switch (static_cast<errc>(v)) {
      case errc::bad_command: return reply_code::command_not_supported;
      case errc::bad_address_type: return reply_code::address_type_not_supported;
      case errc::auth_rejected_by_policy: return reply_code::not_allowed;
      case errc::handshake_timeout: return reply_code::ttl_expired;
      default: return reply_code::general_failure;
    }
  }
  // Name resolution failures: the host cannot be reached under that name.
  if (ec.category() == asio::error::get_netdb_category() ||
      ec.category() == asio::error::get_addrinfo_category())
    return reply_code::host_unreachable;
  // Asio 1.22's system category does not map to std::errc conditions: test both forms.
  auto is = [&ec](asio::error::basic_errors asio_value, std::errc std_value) {
    return ec == asio_value || ec == std_value;
  };
  if (is(asio::error::connection_refused, std::errc::connection_refused))
    return reply_code::connection_refused;
  if (is(asio::error::network_unreachable, std::errc::network_unreachable) ||
      is(asio::error::network_down, std::errc::network_down))
    return reply_code::network_unreachable;
  if (is(asio::error::host_unreachable, std::errc::host_unreachable))
    return reply_code::host_unreachable;
  if (is(asio::error::timed_out, std::errc::timed_out)) return reply_code::ttl_expired;
  if (is(asio::error::access_denied, std::errc::permission_denied) ||
      ec == std::errc::operation_not_permitted)
    return reply_code::not_allowed;
  if (is(asio::error::address_family_not_supported, std::errc::address_family_not_supported))
    return reply_code::address_type_not_supported;
  return reply_code::general_failure;
}

}  // namespace socks5
