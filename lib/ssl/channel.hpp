// One connection's TLS session and the framing of its byte stream (SSL draft): what TLS writes
// leaves in VER|STATE|LEN frames, what arrives is fed to TLS frame by frame. No I/O: the auth
// machines and TlsProtection move the octets.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "the SSL method is built on BoringSSL"
#endif

#include <array>
#include <optional>
#include <span>
#include <vector>

#include "socks5/auth/method.hpp"
#include "socks5/wire/frame.hpp"

namespace socks5::tls {

// The error BoringSSL has queued (packed ERR code), or general_failure when none.
std::error_code last_error();
// Why a handshake failed: the certificate verification result when that was it.
std::error_code handshake_error(const SSL* ssl);

class channel {
 public:
  // Takes the session; gives it memory BIOs for both directions.
  explicit channel(bssl::UniquePtr<SSL> ssl);
  channel(channel&&) noexcept = default;
  channel& operator=(channel&&) noexcept = default;

  SSL* ssl() const noexcept { return ssl_.get(); }

  // Appends everything TLS has written as frames of `state` (split at 65535 octets).
  void flush(wire::byte state, std::vector<wire::byte>& out);
  // Appends everything TLS has written, unframed (for a caller that frames it itself).
  void drain(std::vector<wire::byte>& out);
  bool has_output() const noexcept { return BIO_pending(wbio_) > 0; }

  // Receiving one frame: start() asks for its header, advance() for its body, then nothing
  // once the body has gone to TLS. A bad VER or a STATE that is unknown or lower than the last
  // one received ends it with an error.
  auth_step receive();
  std::optional<auth_step> advance();
  const std::error_code& receive_error() const noexcept { return receive_error_; }
  wire::byte last_state() const noexcept { return last_state_; }

  // Feeds one received frame body to TLS (also used by TlsProtection).
  void feed(wire::bytes_view body) { BIO_write(rbio_, body.data(), static_cast<int>(body.size())); }
  // Checks a received frame's STATE against the ones before it, and records it.
  std::error_code accept_state(wire::byte state);

  // Reads all the plaintext TLS can give now into plaintext(). The peer's close_notify is
  // asio::error::eof.
  std::error_code read_plaintext();
  std::vector<wire::byte>& plaintext() noexcept { return plain_; }

 private:
  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  std::array<wire::byte, wire::frame_header_size> head_{};
  std::vector<wire::byte> body_;
  enum class receiving { idle, header, body } receiving_ = receiving::idle;
  std::error_code receive_error_;
  wire::byte last_state_ = 0;
  std::vector<wire::byte> plain_;
};

}  // namespace socks5::tls
