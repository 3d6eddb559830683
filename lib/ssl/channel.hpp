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
  // Takes the session; gives it a BIO of this channel's for both directions.
  explicit channel(bssl::UniquePtr<SSL> ssl);
  // The BIO points back here: a channel stays where it was made.
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  SSL* ssl() const noexcept { return ssl_.get(); }

  // Appends everything TLS has written as frames of `state` (split at 65535 octets).
  void flush(wire::byte state, std::vector<wire::byte>& out);

  // Encrypts `plain` and appends the records (after any output still pending) to `body`,
  // unframed: the caller frames them. Returns false when TLS refused the write.
  bool write(wire::bytes_view plain, std::vector<wire::byte>& body);

  // Receiving one frame: start() asks for its header, advance() for its body, then nothing
  // once the body has gone to TLS. A bad VER or a STATE that is unknown or lower than the last
  // one received ends it with an error.
  auth_step receive();
  std::optional<auth_step> advance();
  const std::error_code& receive_error() const noexcept { return receive_error_; }
  wire::byte last_state() const noexcept { return last_state_; }

  // Checks a received frame's STATE against the ones before it, and records it.
  std::error_code accept_state(wire::byte state);

  // Reads all the plaintext TLS can give now into plaintext(). The peer's close_notify is
  // asio::error::eof.
  std::error_code read_plaintext() { return read(plain_); }
  std::vector<wire::byte>& plaintext() noexcept { return plain_; }

  // Frees the buffers of the negotiation (frames, plaintext of the option phase) once it is
  // over, so that an idle session does not keep them; a record cut short stays.
  void release_negotiation_buffers() noexcept;

  // Gives one received frame body to TLS, read in place (only a record cut by the end of the
  // frame is kept), and appends the plaintext it yields to `plain`.
  std::error_code unwrap(wire::bytes_view body, std::vector<wire::byte>& plain);

 private:
  friend struct channel_bio;
  std::error_code read(std::vector<wire::byte>& plain);
  int bio_read(char* out, int length);
  int bio_write(const char* data, int length);
  std::size_t bio_pending() const noexcept {
    return (carry_.size() - carry_at_) + (view_.size() - view_at_);
  }

  bssl::UniquePtr<SSL> ssl_;
  // Output TLS wrote, waiting to be framed, or (while write() runs) the caller's buffer.
  std::vector<wire::byte> output_;
  std::vector<wire::byte>* write_target_ = nullptr;
  // Input: what is left of earlier frames, then the frame body being unwrapped.
  std::vector<wire::byte> carry_;
  std::size_t carry_at_ = 0;
  wire::bytes_view view_;
  std::size_t view_at_ = 0;

  std::array<wire::byte, wire::frame_header_size> head_{};
  std::vector<wire::byte> body_;
  enum class receiving { idle, header, body } receiving_ = receiving::idle;
  std::error_code receive_error_;
  wire::byte last_state_ = 0;
  std::vector<wire::byte> plain_;
};

}  // namespace socks5::tls
