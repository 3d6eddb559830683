#include <doctest/doctest.h>

#include <set>

#include <asio/error.hpp>

#include "socks5/error.hpp"

using namespace socks5;

TEST_CASE("the category is named socks5 and every code has its own message") {
  const std::error_code ec = errc::host_unreachable;
  CHECK(std::string(ec.category().name()) == "socks5");
  CHECK(ec.message() == "proxy: host unreachable (X'04')");
  const errc all[] = {errc::general_failure,
                      errc::not_allowed,
                      errc::network_unreachable,
                      errc::host_unreachable,
                      errc::connection_refused,
                      errc::ttl_expired,
                      errc::command_not_supported,
                      errc::address_type_not_supported,
                      errc::unknown_reply_code,
                      errc::bad_version,
                      errc::no_methods,
                      errc::bad_address_type,
                      errc::empty_domain_name,
                      errc::bad_domain_name,
                      errc::domain_name_too_long,
                      errc::truncated_message,
                      errc::trailing_data,
                      errc::bad_command,
                      errc::bad_reserved_field,
                      errc::credential_too_long,
                      errc::fragmented_datagram,
                      errc::no_acceptable_methods,
                      errc::unoffered_method,
                      errc::auth_failed,
                      errc::auth_rejected_by_policy,
                      errc::handshake_timeout,
                      errc::idle_timeout,
                      errc::connection_limit,
                      errc::server_stopping,
                      errc::bad_frame_version,
                      errc::bad_frame_type,
                      errc::truncated_frame,
                      errc::frame_too_large,
                      errc::empty_token,
                      errc::unexpected_token,
                      errc::peer_aborted,
                      errc::mutual_auth_required,
                      errc::replay_detection_required,
                      errc::protection_level_rejected,
                      errc::protection_mismatch,
                      errc::replayed_message,
                      errc::credentials_unavailable,
                      errc::credentials_expired,
                      errc::bad_ssl_options,
                      errc::bad_state,
                      errc::missing_close_notify,
                      errc::certificate_pin_mismatch,
                      errc::unsolicited_options,
                      errc::udp_unavailable,
                      errc::association_closed,
                      errc::proxy_bad_signature,
                      errc::proxy_bad_version,
                      errc::proxy_bad_command,
                      errc::proxy_bad_address_family,
                      errc::proxy_unsupported_address,
                      errc::proxy_address_too_short,
                      errc::proxy_header_too_long,
                      errc::proxy_bad_text_header};
  std::set<std::string> messages;
  for (auto e : all) {
    const std::error_code code = e;
    CHECK(code.message() != "unknown socks5 error");
    messages.insert(code.message());
  }
  CHECK(messages.size() == std::size(all));
}

TEST_CASE("reply codes 01-08 map to errors and back") {
  CHECK_FALSE(error_from_reply(0x00));
  for (int rep = 1; rep <= 8; ++rep) {
    const auto ec = error_from_reply(static_cast<std::uint8_t>(rep));
    CHECK(ec.category() == socks5_category());
    CHECK(ec.value() == rep);
    CHECK(static_cast<int>(reply_for(ec)) == rep);
    CHECK(ec == condition::rejected_by_proxy);
  }
  CHECK(error_from_reply(0x09) == errc::unknown_reply_code);
  CHECK(error_from_reply(0xff) == errc::unknown_reply_code);
}

TEST_CASE("system and resolver errors map to the reply a server sends") {
  CHECK(reply_for(std::make_error_code(std::errc::connection_refused)) ==
        reply_code::connection_refused);
  CHECK(reply_for(std::make_error_code(std::errc::network_unreachable)) ==
        reply_code::network_unreachable);
  CHECK(reply_for(std::make_error_code(std::errc::host_unreachable)) ==
        reply_code::host_unreachable);
  CHECK(reply_for(std::make_error_code(std::errc::timed_out)) == reply_code::ttl_expired);
  CHECK(reply_for(asio::error::host_not_found) == reply_code::host_unreachable);
  // What sockets actually report: Asio's own system category.
  CHECK(reply_for(asio::error::connection_refused) == reply_code::connection_refused);
  CHECK(reply_for(asio::error::network_unreachable) == reply_code::network_unreachable);
  CHECK(reply_for(asio::error::host_unreachable) == reply_code::host_unreachable);
  CHECK(reply_for(asio::error::timed_out) == reply_code::ttl_expired);
  CHECK(reply_for(asio::error::access_denied) == reply_code::not_allowed);
  CHECK(reply_for(asio::error::host_not_found_try_again) == reply_code::host_unreachable);
  CHECK(reply_for(errc::bad_command) == reply_code::command_not_supported);
  CHECK(reply_for(errc::bad_address_type) == reply_code::address_type_not_supported);
  CHECK(reply_for(errc::auth_rejected_by_policy) == reply_code::not_allowed);
  CHECK(reply_for(errc::handshake_timeout) == reply_code::ttl_expired);
  CHECK(reply_for(errc::bad_version) == reply_code::general_failure);
  CHECK(reply_for(std::make_error_code(std::errc::no_buffer_space)) == reply_code::general_failure);
}

TEST_CASE("conditions: auth failure, protocol violation, rejected by proxy") {
  CHECK(std::error_code(errc::auth_failed) == condition::auth_failure);
  CHECK(std::error_code(errc::no_acceptable_methods) == condition::auth_failure);
  CHECK(std::error_code(errc::bad_version) == condition::protocol_violation);
  CHECK(std::error_code(errc::trailing_data) == condition::protocol_violation);
  CHECK(std::error_code(errc::unoffered_method) == condition::protocol_violation);
  CHECK(std::error_code(errc::connection_refused) == condition::rejected_by_proxy);
  CHECK(std::error_code(errc::connection_refused) != condition::auth_failure);
  for (auto e :
       {errc::proxy_bad_signature, errc::proxy_bad_version, errc::proxy_bad_command,
        errc::proxy_bad_address_family, errc::proxy_unsupported_address,
        errc::proxy_address_too_short, errc::proxy_header_too_long, errc::proxy_bad_text_header}) {
    CHECK(std::error_code(e) == condition::protocol_violation);
  }
  CHECK(std::error_code(errc::handshake_timeout) != condition::protocol_violation);
  CHECK(std::string(std::error_condition(condition::auth_failure).category().name()) ==
        "socks5.condition");
  CHECK(std::error_condition(condition::auth_failure).message() == "authentication failure");
  CHECK(std::error_condition(condition::protocol_violation).message() == "protocol violation");
  CHECK(std::error_condition(condition::rejected_by_proxy).message() ==
        "request rejected by the proxy");
}

TEST_CASE("reply codes name the proxy, so a refusal never reads like a local network error") {
  const std::error_code refused = error_from_reply(0x05);
  CHECK(refused == errc::connection_refused);
  CHECK(refused.message() == "proxy refused the connection to the target (X'05')");
  CHECK(refused.message() != std::make_error_code(std::errc::connection_refused).message());
  CHECK(refused.message() != std::error_code(asio::error::connection_refused).message());
  CHECK(error_from_reply(0x01).message() == "proxy: general failure (X'01')");
  CHECK(error_from_reply(0x02).message() == "proxy: connection not allowed by ruleset (X'02')");
  CHECK(error_from_reply(0x03).message() == "proxy: network unreachable (X'03')");
  CHECK(error_from_reply(0x06).message() == "proxy: TTL expired (X'06')");
  CHECK(error_from_reply(0x07).message() == "proxy: command not supported (X'07')");
  CHECK(error_from_reply(0x08).message() == "proxy: address type not supported (X'08')");
  const std::errc local[] = {std::errc::network_unreachable, std::errc::host_unreachable,
                             std::errc::timed_out, std::errc::address_family_not_supported};
  for (std::uint8_t rep = 1; rep <= 8; ++rep) {
    CAPTURE(int(rep));
    const std::string text = error_from_reply(rep).message();
    CHECK(text.starts_with("proxy"));
    for (std::errc e : local)
      CHECK(text != std::make_error_code(e).message());
  }
}
