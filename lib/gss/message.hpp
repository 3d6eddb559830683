// The RFC 1961 message layer as the auth machines see it: VER MTYP LEN TOKEN read in exact steps
// (VER and MTYP first, since an abort message is those two octets alone), and frames to send.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "socks5/auth/method.hpp"
#include "socks5/wire/frame.hpp"

namespace socks5::gss {

class message_reader {
 public:
  // The first read of a message.
  auth_step start() {
    stage_ = stage::head;
    error_.clear();
    token_.clear();
    return auth_step::read(std::span<wire::byte>(head_.data(), 2));
  }

  // After each completed read: the next read, or nothing once the message is in or broken.
  std::optional<auth_step> advance() {
    switch (stage_) {
      case stage::head: {
        const auto h = wire::parse_frame_header(wire::bytes_view(head_.data(), 2));
        if (h.invalid()) return fail(h.error);
        if (h.complete()) return done();  // the abort message
        stage_ = stage::length;
        return auth_step::read(std::span<wire::byte>(head_.data() + 2, 2));
      }
      case stage::length: {
        const auto length = wire::get_u16(head_.data() + 2);
        if (length == 0) return done();
        token_.resize(length);
        stage_ = stage::body;
        return auth_step::read(std::span<wire::byte>(token_));
      }
      case stage::body: return done();
      case stage::complete: return std::nullopt;
    }
    return std::nullopt;
  }

  wire::byte type() const noexcept { return head_[1]; }
  wire::bytes_view token() const noexcept { return token_; }
  const std::error_code& error() const noexcept { return error_; }

 private:
  enum class stage { head, length, body, complete };
  std::nullopt_t done() {
    stage_ = stage::complete;
    return std::nullopt;
  }
  std::nullopt_t fail(std::error_code ec) {
    error_ = ec;
    return done();
  }

  stage stage_ = stage::complete;
  std::array<wire::byte, 4> head_{};
  std::vector<wire::byte> token_;
  std::error_code error_;
};

// `type` with `body` as one frame in `out`; fails when the body does not fit.
inline std::error_code make_frame(wire::byte type, wire::bytes_view body,
                                  std::vector<wire::byte>& out) {
  if (body.size() > wire::max_frame_body) return errc::frame_too_large;
  out.resize(wire::frame_header_size);
  wire::encode_frame_header(type, static_cast<std::uint16_t>(body.size()), out.data());
  out.insert(out.end(), body.begin(), body.end());
  return {};
}

// The abort message: VER 01, MTYP FF.
inline const std::array<wire::byte, 2> abort_message{wire::frame_version, wire::frame_type::abort};

}  // namespace socks5::gss
