// The AuthMethod concept: a method code plus a client side and a server side, each of which
// starts an I/O-free state machine for one connection.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include <asio/ip/tcp.hpp>

#include "socks5/protection.hpp"
#include "socks5/wire/method.hpp"

namespace socks5 {

// What a state machine asks its driver to do next.
struct auth_step {
  enum class action : std::uint8_t { write, read, offload, done, fail };
  action what = action::fail;
  wire::bytes_view output;      // write: send all of these octets
  std::span<wire::byte> input;  // read: fill exactly this span
  std::function<void()> work;   // offload: run this away from the event loop (it may block,
                                // e.g. on a KDC), then call next() again
  std::error_code error;        // fail: why (anything to tell the peer was written first)

  static auth_step write(wire::bytes_view out) { return {action::write, out, {}, {}, {}}; }
  static auth_step read(std::span<wire::byte> in) { return {action::read, {}, in, {}, {}}; }
  static auth_step offload(std::function<void()> w) {
    return {action::offload, {}, {}, std::move(w), {}};
  }
  static auth_step finished() { return {action::done, {}, {}, {}, {}}; }
  static auth_step failed(std::error_code ec) { return {action::fail, {}, {}, {}, ec}; }
};

// Facts a side may need about the connection it authenticates.
struct client_auth_context {
  std::string proxy_host;  // the proxy's name as the user gave it (GSS-API target, TLS SNI)
};
struct server_auth_context {
  asio::ip::tcp::endpoint peer;
};

// One connection's negotiation. next() is called first, then again after each write or read
// it asked for has completed; it never does I/O itself.
template <class M>
concept AuthMachine = requires(M& m) {
  { m.next() } -> std::same_as<auth_step>;
  { m.identity() } -> std::convertible_to<std::string>;
  { m.take_protection() } -> std::same_as<std::unique_ptr<protection>>;
};

template <class S>
concept ClientAuthSide = std::copy_constructible<S> &&
    requires(const S& s, const client_auth_context& c) {
  { s.code() } -> std::same_as<method_code>;
  { s.start(c) } -> AuthMachine;
};

template <class S>
concept ServerAuthSide = std::copy_constructible<S> &&
    requires(const S& s, const server_auth_context& c) {
  { s.code() } -> std::same_as<method_code>;
  { s.start(c) } -> AuthMachine;
};

template <class M>
concept AuthMethod = ClientAuthSide<typename M::client> && ServerAuthSide<typename M::server>;

}  // namespace socks5
