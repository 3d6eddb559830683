// The TLS configuration behind SslAuth's client and server sides: one SSL_CTX each, built and
// checked when the side is created.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "channel.hpp"
#include "socks5/auth/ssl.hpp"

namespace socks5::detail {

struct ssl_client_config {
  SslAuth::client_options options;
  bssl::UniquePtr<SSL_CTX> ctx;
  std::vector<std::uint8_t> pin;  // the decoded pin_sha256, if any

  // Sessions to resume, by server name. Filled by BoringSSL's new-session callback.
  mutable std::mutex sessions_mutex;
  mutable std::map<std::string, bssl::UniquePtr<SSL_SESSION>> sessions;

  // A session for `server_name`, set up for verification, SNI and resumption.
  bssl::UniquePtr<SSL> new_session(const std::string& server_name) const;
};

struct ssl_server_config {
  SslAuth::server_options options;
  bssl::UniquePtr<SSL_CTX> ctx;
};

std::shared_ptr<ssl_client_config> make_client_config(SslAuth::client_options options,
                                                      std::error_code& ec);
std::shared_ptr<ssl_server_config> make_server_config(SslAuth::server_options options,
                                                      std::error_code& ec);

// The subject of the peer's certificate, RFC 2253 style; empty without one.
std::string peer_subject(const SSL* ssl);

// SHA-256 of the peer's certificate (DER).
std::vector<std::uint8_t> peer_certificate_sha256(const SSL* ssl);

}  // namespace socks5::detail
