// The stream a SOCKS session runs over once authentication is done: the next layer itself when
// the method protects nothing (no-auth, username/password, GSS-API level 0), or a
// ProtectedStream carrying the method's protection (GSS-API, SSL). Which one is decided at run
// time, during negotiation.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include <asio/async_result.hpp>
#include <asio/socket_base.hpp>

#include "socks5/protected_stream.hpp"

namespace socks5 {

template <class NextLayer>
class stream {
 public:
  using next_layer_type = std::remove_reference_t<NextLayer>;
  using executor_type = typename next_layer_type::executor_type;
  using protected_type = ProtectedStream<NextLayer, dynamic_protection>;

  // Unprotected when `p` is null.
  explicit stream(NextLayer next, std::unique_ptr<socks5::protection> p = nullptr)
      : impl_(make(std::move(next), std::move(p))) {}

  stream(stream&&) = default;
  stream& operator=(stream&&) = default;

  executor_type get_executor() noexcept { return next_layer().get_executor(); }

  next_layer_type& next_layer() noexcept {
    return std::visit([](auto& s) -> next_layer_type& { return layer_of(s); }, impl_);
  }
  const next_layer_type& next_layer() const noexcept {
    return std::visit([](auto& s) -> const next_layer_type& { return layer_of(s); }, impl_);
  }

  // True when the negotiated method protects the data.
  bool is_protected() const noexcept { return impl_.index() == 1; }
  // The method's protection, or null.
  socks5::protection* protection() noexcept {
    auto* p = std::get_if<1>(&impl_);
    return p ? &p->protection().get() : nullptr;
  }
  // How UDP datagrams of this session travel.
  udp_mode udp() const noexcept {
    const auto* p = std::get_if<1>(&impl_);
    return p ? const_cast<protected_type*>(p)->protection().get().udp() : udp_mode::plain;
  }
  protected_type* protected_stream() noexcept { return std::get_if<1>(&impl_); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          std::visit([&](auto& s) { s.async_read_some(b, std::move(handler)); }, impl_);
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          std::visit([&](auto& s) { s.async_write_some(b, std::move(handler)); }, impl_);
        },
        token, buffers);
  }

 private:
  using variant_type = std::variant<NextLayer, protected_type>;

  static variant_type make(NextLayer next, std::unique_ptr<socks5::protection> p) {
    if (!p) return variant_type(std::in_place_index<0>, std::move(next));
    return variant_type(std::in_place_index<1>, std::move(next), dynamic_protection(std::move(p)));
  }

  static next_layer_type& layer_of(next_layer_type& s) noexcept { return s; }
  static const next_layer_type& layer_of(const next_layer_type& s) noexcept { return s; }
  static next_layer_type& layer_of(protected_type& s) noexcept { return s.next_layer(); }
  static const next_layer_type& layer_of(const protected_type& s) noexcept {
    return s.next_layer();
  }

  variant_type impl_;
};

}  // namespace socks5
