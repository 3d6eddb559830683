// The AuthMethod concept: a method code plus a client side and a server side, each of which
// starts an I/O-free state machine for one connection.
#pragma once

#include "socks5/detail/config.hpp"

#include <concepts>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

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

// Diagnostics: for a type that does not model one of the concepts above, these report each
// missing requirement in a static_assert of its own ("socks5: the type does not model
// socks5::ClientAuthSide: it needs ..."), where a constrained template would only say that no
// overload matched. any_client_auth and any_server_auth call them for any other type; a method's
// author can check a type with static_assert(socks5::require_auth_method<M>()). Each returns
// true when the type models the concept.
namespace detail {

template <class...>
inline constexpr bool dependent_false = false;

// T is not Self (a named concept, so that a constructor requiring `other_than<T, Self> &&
// ClientAuthSide<T>` subsumes, and wins over, one requiring only `other_than<T, Self>`).
template <class T, class Self>
concept other_than = !std::is_same_v<std::remove_cvref_t<T>, Self>;

template <class M>
constexpr bool require_auth_machine() {
  static_assert(
      requires(M & m) { m.next(); },
      "socks5: the type does not model socks5::AuthMachine: it needs a member function "
      "next() returning socks5::auth_step");
  if constexpr (requires(M & m) { m.next(); })
    static_assert(
        requires(M & m) {
          { m.next() } -> std::same_as<auth_step>;
        },
        "socks5: the type does not model socks5::AuthMachine: next() must return "
        "socks5::auth_step");
  static_assert(
      requires(M & m) {
        { m.identity() } -> std::convertible_to<std::string>;
      },
      "socks5: the type does not model socks5::AuthMachine: it needs a member function "
      "identity() returning something convertible to std::string");
  static_assert(
      requires(M & m) {
        { m.take_protection() } -> std::same_as<std::unique_ptr<protection>>;
      },
      "socks5: the type does not model socks5::AuthMachine: it needs a member function "
      "take_protection() returning std::unique_ptr<socks5::protection>");
  return AuthMachine<M>;
}

// Shared by both sides: the message names the side's concept.
#define SOCKS5_DETAIL_SIDE_ASSERT(ok, what)                                                      \
  if constexpr (IsClient)                                                                        \
    static_assert(ok, "socks5: the type does not model socks5::ClientAuthSide: it needs " what); \
  else                                                                                           \
    static_assert(ok, "socks5: the type does not model socks5::ServerAuthSide: it needs " what)

template <class S, class Context, bool IsClient, bool Modeled>
constexpr bool require_auth_side() {
  if constexpr (requires {
                  typename S::client;
                  typename S::server;
                }) {
    SOCKS5_DETAIL_SIDE_ASSERT(dependent_false<S>,
                              "to be a side, not the AuthMethod itself: pass M::client{...} or "
                              "M::server{...}");
    return false;
  } else {
    constexpr bool copyable = std::copy_constructible<S>;
    constexpr bool has_code = requires(const S& s) {
      { s.code() } -> std::same_as<method_code>;
    };
    constexpr bool has_start = requires(const S& s, const Context& c) {
      s.start(c);
    };
    SOCKS5_DETAIL_SIDE_ASSERT(copyable, "to be copy constructible");
    SOCKS5_DETAIL_SIDE_ASSERT(has_code,
                              "a const member function code() returning "
                              "socks5::method_code");
    if constexpr (IsClient)
      static_assert(has_start,
                    "socks5: the type does not model socks5::ClientAuthSide: it needs a const "
                    "member function start(const socks5::client_auth_context&) returning a "
                    "socks5::AuthMachine");
    else
      static_assert(has_start,
                    "socks5: the type does not model socks5::ServerAuthSide: it needs a const "
                    "member function start(const socks5::server_auth_context&) returning a "
                    "socks5::AuthMachine");
    if constexpr (has_start)
      return require_auth_machine<decltype(std::declval<const S&>().start(
                 std::declval<const Context&>()))>() &&
             Modeled;
    else
      return false;
  }
}

#undef SOCKS5_DETAIL_SIDE_ASSERT

}  // namespace detail

template <class S>
constexpr bool require_client_auth_side() {
  return detail::require_auth_side<S, client_auth_context, true, ClientAuthSide<S>>();
}

template <class S>
constexpr bool require_server_auth_side() {
  return detail::require_auth_side<S, server_auth_context, false, ServerAuthSide<S>>();
}

template <class M>
constexpr bool require_auth_method() {
  static_assert(
      requires { typename M::client; },
      "socks5: the type does not model socks5::AuthMethod: it needs a nested type "
      "client (its client side, a socks5::ClientAuthSide)");
  static_assert(
      requires { typename M::server; },
      "socks5: the type does not model socks5::AuthMethod: it needs a nested type "
      "server (its server side, a socks5::ServerAuthSide)");
  if constexpr (requires {
                  typename M::client;
                  typename M::server;
                })
    return require_client_auth_side<typename M::client>() &&
           require_server_auth_side<typename M::server>();
  else
    return false;
}

}  // namespace socks5
