// The stream a SOCKS session runs over once authentication is done: the next layer itself when
// the method protects nothing, or framed through the method's protection.
#pragma once

#include <type_traits>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/socket_base.hpp>

namespace socks5 {

template <class NextLayer>
class stream {
 public:
  using next_layer_type = std::remove_reference_t<NextLayer>;
  using executor_type = typename next_layer_type::executor_type;

  explicit stream(NextLayer next) : next_(std::move(next)) {}

  stream(stream&&) = default;
  stream& operator=(stream&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  // True when the negotiated method protects the data (never for no-auth and username).
  bool is_protected() const noexcept { return false; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return next_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  NextLayer next_;
};

}  // namespace socks5
