// Per-message protection negotiated by an authentication method (GSS-API, SSL): an I/O-free
// transform between plaintext and the bodies of VER|TYPE|LEN frames.
#pragma once

#include <cstddef>
#include <system_error>
#include <vector>

#include <asio/error.hpp>

#include "socks5/wire/buffer.hpp"

namespace socks5 {

// How a session's UDP datagrams travel (UDP ASSOCIATE).
enum class udp_mode {
  plain,        // RFC 1928 datagrams as they are (no protection, or the SSL method's UDP-Naked)
  wrapped,      // each datagram one 01 03 LEN frame of the method's token (GSS-API)
  unavailable,  // the method protects the control connection only and was not told to (SSL
                // without UDP-Naked): no UDP
};

class protection {
 public:
  virtual ~protection() = default;

  // The largest plaintext one frame may carry.
  virtual std::size_t max_plaintext_size() const noexcept = 0;

  // Appends the frame body (token) that carries `plain`.
  virtual std::error_code wrap(wire::bytes_view plain, std::vector<wire::byte>& body) = 0;

  // Takes one received frame and appends the plaintext it yields, if any. A frame type the
  // method does not allow is a protocol error; the peer's orderly close is asio::error::eof.
  virtual std::error_code unwrap(wire::byte type, wire::bytes_view body,
                                 std::vector<wire::byte>& plain) = 0;

  // Whole frames to send before closing the connection (none by default).
  virtual std::error_code close(std::vector<wire::byte>& frames) {
    (void)frames;
    return {};
  }

  // What the end of the underlying stream at a frame boundary means: an orderly end
  // (asio::error::eof) unless the method has a closing message that has not arrived (TLS
  // close_notify), which makes it a truncation.
  virtual std::error_code end_of_stream() const { return asio::error::eof; }

  virtual udp_mode udp() const noexcept { return udp_mode::unavailable; }

  // For udp_mode::wrapped: one whole SOCKS UDP datagram (header and data) into one packet,
  // and back. A packet that fails to unwrap is dropped by the caller.
  virtual std::error_code wrap_datagram(wire::bytes_view datagram,
                                        std::vector<wire::byte>& packet) {
    (void)datagram;
    (void)packet;
    return std::make_error_code(std::errc::operation_not_supported);
  }
  virtual std::error_code unwrap_datagram(wire::bytes_view packet,
                                          std::vector<wire::byte>& datagram) {
    (void)packet;
    (void)datagram;
    return std::make_error_code(std::errc::operation_not_supported);
  }
};

}  // namespace socks5
