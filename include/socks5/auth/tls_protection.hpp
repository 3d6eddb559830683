// The SSL method's data phase: frame bodies are slices of the TLS byte stream, sent in STATE 03
// and, when closing, STATE 04 (close_notify). Used through ProtectedStream.
#pragma once

#include <memory>
#include <string>

#include "socks5/protection.hpp"

namespace socks5 {

namespace tls {
class channel;
}

class TlsProtection final : public protection {
 public:
  explicit TlsProtection(std::unique_ptr<tls::channel> channel, bool udp_naked = false);
  ~TlsProtection() override;

  // Three full TLS records per frame.
  std::size_t max_plaintext_size() const noexcept override { return 3 * 16384; }
  std::error_code wrap(wire::bytes_view plain, std::vector<wire::byte>& body) override;
  // STATE 03 and 04 frames; a STATE going backwards or an unknown one is errc::bad_state. The
  // peer's close_notify ends the stream (asio::error::eof).
  std::error_code unwrap(wire::byte type, wire::bytes_view body,
                         std::vector<wire::byte>& plain) override;
  // close_notify, in STATE 04 frames.
  std::error_code close(std::vector<wire::byte>& frames) override;
  // Without the peer's close_notify the stream was cut short: errc::missing_close_notify.
  std::error_code end_of_stream() const override;

  bool udp_naked() const noexcept { return udp_naked_; }
  // UDP only with UDP-Naked, and then unprotected.
  udp_mode udp() const noexcept override {
    return udp_naked_ ? udp_mode::plain : udp_mode::unavailable;
  }
  // The negotiated suite and version, e.g. "TLS_AES_128_GCM_SHA256", "TLSv1.3".
  std::string cipher() const;
  std::string version() const;

 private:
  std::unique_ptr<tls::channel> channel_;
  bool udp_naked_;
  bool peer_closed_ = false;
  bool closed_ = false;
};

}  // namespace socks5
