// The server's choice of method (RFC 1928 section 3), outside TLS and inside it alike: the first
// of its own methods, in its order of preference, that the client also offers; none when they
// share none. Nothing outside the configured list is ever chosen, so no client can force a
// downgrade. I/O-free, over anything with a code().
#pragma once

#include <algorithm>
#include <span>

#include "socks5/wire/method.hpp"

namespace socks5::detail {

template <class Side>
const Side* select_method(std::span<const Side> configured, std::span<const method_code> offered) {
  for (const Side& side : configured)
    if (std::find(offered.begin(), offered.end(), side.code()) != offered.end()) return &side;
  return nullptr;
}

}  // namespace socks5::detail
