// A stand-in Protection for testing ProtectedStream without a security mechanism: the body is
// the plaintext XORed with a key, followed by a one-octet checksum. Only data frames (03) are
// allowed.
#pragma once

#include <numeric>

#include "socks5/protected_stream.hpp"

namespace test {

// Reported by fake_protection for a body whose checksum does not match.
inline std::error_code bad_checksum() {
  return std::make_error_code(std::errc::bad_message);
}

class fake_protection {
 public:
  explicit fake_protection(std::size_t max_plaintext = 1000) : max_(max_plaintext) {}

  std::size_t max_plaintext_size() const { return max_; }

  std::error_code wrap(socks5::wire::bytes_view plain, std::vector<socks5::wire::byte>& body) {
    std::uint8_t sum = 0;
    for (auto b : plain) {
      body.push_back(static_cast<std::uint8_t>(b ^ key));
      sum = static_cast<std::uint8_t>(sum + b);
    }
    body.push_back(sum);
    ++wrapped;
    return {};
  }

  std::error_code unwrap(socks5::wire::byte type, socks5::wire::bytes_view body,
                         std::vector<socks5::wire::byte>& plain) {
    if (type != socks5::wire::frame_type::data) return socks5::errc::bad_frame_type;
    if (body.empty()) return bad_checksum();
    std::uint8_t sum = 0;
    for (std::size_t i = 0; i + 1 < body.size(); ++i) {
      const auto b = static_cast<std::uint8_t>(body[i] ^ key);
      plain.push_back(b);
      sum = static_cast<std::uint8_t>(sum + b);
    }
    ++unwrapped;
    return sum == body.back() ? std::error_code{} : bad_checksum();
  }

  std::error_code close(std::vector<socks5::wire::byte>& frames) {
    // A recognisable closing frame, like the SSL method's STATE 04.
    if (send_close) frames.insert(frames.end(), {0x01, 0x04, 0x00, 0x00});
    return {};
  }

  std::error_code end_of_stream() const { return asio::error::eof; }

  static constexpr std::uint8_t key = 0x5a;
  std::size_t max_;
  std::size_t wrapped = 0;
  std::size_t unwrapped = 0;
  bool send_close = false;
};

static_assert(socks5::Protection<fake_protection>);

// One whole frame as fake_protection would send it.
inline std::vector<std::uint8_t> fake_frame(const std::vector<std::uint8_t>& plain,
                                            std::uint8_t type = socks5::wire::frame_type::data) {
  fake_protection p;
  std::vector<std::uint8_t> body;
  p.wrap(plain, body);
  std::vector<std::uint8_t> frame(4);
  socks5::wire::encode_frame_header(type, static_cast<std::uint16_t>(body.size()), frame.data());
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

}  // namespace test
