// The per-message protection of RFC 1961 section 5: every frame body is one gss_wrap token of
// the established context, at the agreed level. Used through ProtectedStream.
#pragma once

#include <memory>

#include "socks5/auth/gssapi.hpp"
#include "socks5/protection.hpp"

namespace socks5 {

namespace detail {
struct gss_shared_context;
}

class GssProtection final : public protection {
 public:
  // `level` is integrity, confidentiality or selective (with `selective` deciding per message).
  GssProtection(std::shared_ptr<detail::gss_shared_context> context, gss_level level,
                gss_selective_policy selective = {});
  ~GssProtection() override;

  // gss_wrap_size_limit for a 65535-octet token at this level.
  std::size_t max_plaintext_size() const noexcept override { return max_plaintext_; }
  std::error_code wrap(wire::bytes_view plain, std::vector<wire::byte>& body) override;
  // Only MTYP 03 frames; conf_state must match the level; replays and reordering are errors.
  std::error_code unwrap(wire::byte type, wire::bytes_view body,
                         std::vector<wire::byte>& plain) override;

  // UDP: every datagram is 01 03 LEN gss_wrap(datagram) with this context (Dante's layout).
  udp_mode udp() const noexcept override { return udp_mode::wrapped; }
  std::error_code wrap_datagram(wire::bytes_view datagram,
                                std::vector<wire::byte>& packet) override;
  // Datagrams are lost and reordered: gaps and late ones pass, only duplicates (replays) fail.
  std::error_code unwrap_datagram(wire::bytes_view packet,
                                  std::vector<wire::byte>& datagram) override;

  gss_level level() const noexcept { return level_; }

 private:
  std::shared_ptr<detail::gss_shared_context> context_;
  gss_level level_;
  gss_selective_policy selective_;
  std::size_t max_plaintext_ = 0;

  std::error_code unwrap_token(wire::bytes_view token, std::vector<wire::byte>& plain,
                               bool datagram);
};

}  // namespace socks5
