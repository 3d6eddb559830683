// Accumulates one message for an incremental parser, reading exactly the octets it asks for,
// so that nothing beyond the message is ever consumed from the stream.
#pragma once

#include <array>
#include <span>

#include "socks5/wire/buffer.hpp"

namespace socks5::detail {

template <std::size_t Capacity>
class message_reader {
 public:
  // Marks the octets of the last read as received.
  void commit() noexcept { filled_ = requested_; }

  // Where the next read goes to bring the total to `total` octets; empty when it would
  // exceed the capacity.
  std::span<wire::byte> prepare(std::size_t total) noexcept {
    if (total > Capacity || total <= filled_) return {};
    requested_ = total;
    return std::span<wire::byte>(buf_).subspan(filled_, total - filled_);
  }

  wire::bytes_view data() const noexcept { return {buf_.data(), filled_}; }
  void reset() noexcept { filled_ = requested_ = 0; }

 private:
  std::array<wire::byte, Capacity> buf_{};
  std::size_t filled_ = 0;
  std::size_t requested_ = 0;
};

}  // namespace socks5::detail
