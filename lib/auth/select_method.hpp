// The server's choice of method (RFC 1928 section 3), outside TLS and inside it alike: the first
// of its own methods, in its order of preference, that the client also offers; none when they
// share none. Nothing outside the configured list is ever chosen, so no client can force a
// downgrade. I/O-free, over anything with a code(). A side that answers to several codes
// (codes() and as(), see any_auth.hpp) is tried with each, in its own order, and what is
// returned is its alias for the code chosen, whose code() is the one to send.
#pragma once

#include <algorithm>
#include <span>

#include "socks5/wire/method.hpp"

namespace socks5::detail {

template <class Side>
const Side* select_method(std::span<const Side> configured, std::span<const method_code> offered) {
  const auto is_offered = [offered](method_code c) {
    return std::find(offered.begin(), offered.end(), c) != offered.end();
  };
  for (const Side& side : configured) {
    if constexpr (requires { side.as(method_code{}); }) {
      for (method_code c : side.codes())
        if (is_offered(c)) return side.as(c);
    } else if (is_offered(side.code())) {
      return &side;
    }
  }
  return nullptr;
}

}  // namespace socks5::detail
