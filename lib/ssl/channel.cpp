#include "channel.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/x509.h>
#include <asio/error.hpp>

#include "socks5/error.hpp"

namespace socks5::tls {

std::error_code last_error() {
  const auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return errc::general_failure;
  return {static_cast<int>(code), tls_category()};
}

std::error_code handshake_error(const SSL* ssl) {
  // The verification result says why only when verification is what failed: BoringSSL reports
  // X509_V_ERR_INVALID_CALL before any certificate arrived, and with verification off (a pin)
  // keeps a result that did not end the handshake.
  std::uint32_t first = 0;
  bool verify_failed = false;
  while (const std::uint32_t code = ERR_get_error()) {
    if (first == 0) first = code;
    if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      verify_failed = true;
  }
  const long verify = SSL_get_verify_result(ssl);
  if (verify_failed && verify != X509_V_OK)
    return {static_cast<int>(verify), tls_verify_category()};
  if (first == 0) return errc::general_failure;
  return {static_cast<int>(first), tls_category()};
}

// The BIO between TLS and a channel: no buffer of its own, so nothing is copied or shifted
// inside BoringSSL.
struct channel_bio {
  static channel& of(BIO* bio) { return *static_cast<channel*>(BIO_get_data(bio)); }

  static int read(BIO* bio, char* out, int length) {
    BIO_clear_retry_flags(bio);
    const int n = of(bio).bio_read(out, length);
    if (n == 0) {
      BIO_set_retry_read(bio);  // more will come: not an end of file
      return -1;
    }
    return n;
  }

  static int write(BIO* bio, const char* data, int length) {
    return of(bio).bio_write(data, length);
  }

  static long ctrl(BIO* bio, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_PENDING: return static_cast<long>(of(bio).bio_pending());
      case BIO_CTRL_WPENDING: return static_cast<long>(of(bio).output_.size());
      case BIO_CTRL_FLUSH: return 1;
      default: return 0;
    }
  }

  static const BIO_METHOD* method() {
    // An immutable table of functions, built once.
    static const BIO_METHOD* m = [] {
      BIO_METHOD* meth = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "socks5 tls channel");
      BIO_meth_set_read(meth, read);
      BIO_meth_set_write(meth, write);
      BIO_meth_set_ctrl(meth, ctrl);
      return meth;
    }();
    return m;
  }
};

channel::channel(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  BIO* bio = BIO_new(channel_bio::method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // the same BIO both ways: the session takes our one reference
}

int channel::bio_read(char* out, int length) {
  std::size_t want = static_cast<std::size_t>(length), given = 0;
  const std::size_t from_carry = std::min(want, carry_.size() - carry_at_);
  if (from_carry) std::memcpy(out, carry_.data() + carry_at_, from_carry);
  carry_at_ += from_carry;
  given += from_carry;
  if (carry_at_ == carry_.size()) carry_.clear(), carry_at_ = 0;
  const std::size_t from_view = std::min(want - given, view_.size() - view_at_);
  if (from_view) std::memcpy(out + given, view_.data() + view_at_, from_view);
  view_at_ += from_view;
  return static_cast<int>(given + from_view);
}

int channel::bio_write(const char* data, int length) {
  auto& out = write_target_ ? *write_target_ : output_;
  const auto* bytes = reinterpret_cast<const wire::byte*>(data);  // same type: a memcpy, not a loop
  out.insert(out.end(), bytes, bytes + length);
  return length;
}

void channel::flush(wire::byte state, std::vector<wire::byte>& out) {
  for (std::size_t at = 0; at < output_.size();) {
    const std::size_t n = std::min(output_.size() - at, wire::max_frame_body);
    const std::size_t start = out.size();
    out.resize(start + wire::frame_header_size);
    wire::encode_frame_header(state, static_cast<std::uint16_t>(n), out.data() + start);
    out.insert(out.end(), output_.begin() + static_cast<std::ptrdiff_t>(at),
               output_.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  output_.clear();
}

bool channel::write(wire::bytes_view plain, std::vector<wire::byte>& body) {
  if (!output_.empty()) {
    body.insert(body.end(), output_.begin(), output_.end());
    output_.clear();
  }
  write_target_ = &body;
  const int n = SSL_write(ssl_.get(), plain.data(), static_cast<int>(plain.size()));
  write_target_ = nullptr;
  return n == static_cast<int>(plain.size());
}

std::error_code channel::accept_state(wire::byte state) {
  if (state < wire::frame_type::ssl_handshake || state > wire::frame_type::ssl_closing)
    return errc::bad_state;
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
      if (h.invalid())
        receive_error_ = h.error;
      else if (h.value.type == wire::frame_type::abort)
        receive_error_ = errc::bad_state;
      else
        receive_error_ = accept_state(h.value.type);
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
      carry_.insert(carry_.end(), body_.begin(), body_.end());
      receiving_ = receiving::idle;
      return std::nullopt;
    case receiving::idle: return std::nullopt;
  }
  return std::nullopt;
}

void channel::release_negotiation_buffers() noexcept {
  std::vector<wire::byte>().swap(body_);
  if (plain_.empty()) std::vector<wire::byte>().swap(plain_);
  if (output_.empty()) std::vector<wire::byte>().swap(output_);
  if (carry_at_ == carry_.size()) std::vector<wire::byte>().swap(carry_), carry_at_ = 0;
}

std::error_code channel::read(std::vector<wire::byte>& plain) {
  constexpr std::size_t record = 16384;
  for (;;) {
    const std::size_t at = plain.size();
    plain.resize(at + record);
    const int n = SSL_read(ssl_.get(), plain.data() + at, static_cast<int>(record));
    plain.resize(at + static_cast<std::size_t>(std::max(n, 0)));
    if (n > 0) continue;
    switch (SSL_get_error(ssl_.get(), n)) {
      case SSL_ERROR_WANT_READ: return {};
      case SSL_ERROR_ZERO_RETURN: return asio::error::eof;
      default: return last_error();
    }
  }
}

std::error_code channel::unwrap(wire::bytes_view body, std::vector<wire::byte>& plain) {
  view_ = body;
  view_at_ = 0;
  auto ec = read(plain);
  // A record that continues in the next frame: keep its start.
  carry_.insert(carry_.end(), view_.begin() + static_cast<std::ptrdiff_t>(view_at_), view_.end());
  view_ = {};
  view_at_ = 0;
  return ec;
}

}  // namespace socks5::tls
