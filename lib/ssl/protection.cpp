#include "socks5/auth/tls_protection.hpp"

#include <asio/error.hpp>

#include "channel.hpp"

namespace socks5 {

TlsProtection::TlsProtection(std::unique_ptr<tls::channel> channel, bool udp_naked)
    : channel_(std::move(channel)), udp_naked_(udp_naked) {}

TlsProtection::~TlsProtection() = default;

std::error_code TlsProtection::wrap(wire::bytes_view plain, std::vector<wire::byte>& body) {
  if (closed_) return asio::error::shut_down;
  // The body is the raw TLS stream: ProtectedStream puts the STATE 03 header in front.
  if (!channel_->write(plain, body)) return tls::last_error();
  return {};
}

std::error_code TlsProtection::unwrap(wire::byte type, wire::bytes_view body,
                                      std::vector<wire::byte>& plain) {
  if (auto ec = channel_->accept_state(type)) return ec;
  if (peer_closed_) return asio::error::eof;
  auto ec = channel_->unwrap(body, plain);
  if (ec == asio::error::eof) peer_closed_ = true;
  return ec;
}

std::error_code TlsProtection::close(std::vector<wire::byte>& frames) {
  if (closed_) return {};
  closed_ = true;
  SSL_shutdown(channel_->ssl());
  channel_->flush(wire::frame_type::ssl_closing, frames);
  return {};
}

std::string TlsProtection::cipher() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(channel_->ssl());
  return c ? SSL_CIPHER_get_name(c) : "";
}

std::string TlsProtection::version() const {
  return SSL_get_version(channel_->ssl());
}

std::error_code TlsProtection::end_of_stream() const {
  return peer_closed_ ? std::error_code(asio::error::eof)
                      : std::error_code(errc::missing_close_notify);
}

}  // namespace socks5
