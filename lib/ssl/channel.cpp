#include "channel.hpp"

#include <asio/error.hpp>
#include <openssl/x509.h>

#include "socks5/error.hpp"

namespace socks5::tls {

std::error_code last_error() {
  const auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return errc::general_failure;
  return {static_cast<int>(code), tls_category()};
}

std::error_code handshake_error(const SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return {static_cast<int>(verify), tls_verify_category()};
  }
  return last_error();
}

channel::channel(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  // An empty input BIO means "more to come", not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
}

void channel::flush(wire::byte state, std::vector<wire::byte>& out) {
  while (BIO_pending(wbio_) > 0) {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(BIO_pending(wbio_)), wire::max_frame_body);
    const std::size_t at = out.size();
    out.resize(at + wire::frame_header_size + n);
    wire::encode_frame_header(state, static_cast<std::uint16_t>(n), out.data() + at);
    BIO_read(wbio_, out.data() + at + wire::frame_header_size, static_cast<int>(n));
  }
}

void channel::drain(std::vector<wire::byte>& out) {
  const auto n = static_cast<std::size_t>(BIO_pending(wbio_));
  const std::size_t at = out.size();
  out.resize(at + n);
  BIO_read(wbio_, out.data() + at, static_cast<int>(n));
}

std::error_code channel::accept_state(wire::byte state) {
  if (state < wire::frame_type::ssl_handshake || state > wire::frame_type::ssl_closing) return errc::bad_state;
  if (state < last_state_) return errc::bad_state;  // STATE never goes backwards
  last_state_ = state;
  return {};
}

auth_step channel::receive() {
  receiving_ = receiving::header;
  receive_error_.clear();
  return auth_step::read(head_);
}

std::optional<auth_step> channel::advance() {
  switch (receiving_) {
    case receiving::header: {
      const auto h = wire::parse_frame_header(head_);
      if (h.invalid()) receive_error_ = h.error;
      else if (h.value.type == wire::frame_type::abort) receive_error_ = errc::bad_state;
      else receive_error_ = accept_state(h.value.type);
      if (receive_error_) {
        receiving_ = receiving::idle;
        return std::nullopt;
      }
      body_.resize(h.value.length);
      if (body_.empty()) {
        receiving_ = receiving::idle;
        return std::nullopt;
      }
      receiving_ = receiving::body;
      return auth_step::read(body_);
    }
    case receiving::body:
      feed(body_);
      receiving_ = receiving::idle;
      return std::nullopt;
    case receiving::idle: return std::nullopt;
  }
  return std::nullopt;
}

std::error_code channel::read_plaintext() {
  std::array<wire::byte, 16384> chunk;
  for (;;) {
    const int n = SSL_read(ssl_.get(), chunk.data(), static_cast<int>(chunk.size()));
    if (n > 0) {
      plain_.insert(plain_.end(), chunk.begin(), chunk.begin() + n);
      continue;
    }
    switch (SSL_get_error(ssl_.get(), n)) {
      case SSL_ERROR_WANT_READ: return {};
      case SSL_ERROR_ZERO_RETURN: return asio::error::eof;
      default: return last_error();
    }
  }
}

}  // namespace socks5::tls
