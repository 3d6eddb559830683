// A completion condition for asio::async_write that hands the stream everything still to be
// written in each call. asio's own conditions offer at most 64 KiB per call, so a 65,640-octet
// run of four frames went out as 65,536 octets and then a 104-octet segment of its own.
#pragma once

#include <cstddef>
#include <system_error>

namespace socks5::detail {

class transfer_whole {
 public:
  explicit transfer_whole(std::size_t total) noexcept : total_(total) {}
  std::size_t operator()(const std::error_code& ec, std::size_t transferred) const noexcept {
    return ec || transferred >= total_ ? 0 : total_ - transferred;
  }

 private:
  std::size_t total_;
};

}  // namespace socks5::detail
