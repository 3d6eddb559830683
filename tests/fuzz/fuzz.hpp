// Shared checks for the fuzz targets: a parser must never read past its input, must say it
// needs more than it has when incomplete, and a complete message must encode back to exactly
// the octets it was parsed from.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "socks5/wire/buffer.hpp"

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

namespace fuzz {

inline socks5::wire::bytes_view input(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

// Fills a machine's read from `peer` at `at`, as a socket would; false when `peer` has fewer
// octets left than asked for (the peer hung up), and then nothing is taken.
inline bool feed_read(std::span<socks5::wire::byte> want, socks5::wire::bytes_view peer,
                      std::size_t& at) {
  if (peer.size() - at < want.size()) return false;
  std::memcpy(want.data(), peer.data() + at, want.size());
  at += want.size();
  return true;
}

// Parses, and checks what every parse result must satisfy; returns the result.
template <class Parser>
auto checked_parse(Parser parse, socks5::wire::bytes_view in) {
  auto r = parse(in);
  switch (r.status) {
    case socks5::wire::parse_status::complete: FUZZ_CHECK(r.size > 0 && r.size <= in.size()); break;
    case socks5::wire::parse_status::incomplete: FUZZ_CHECK(r.size > in.size()); break;
    case socks5::wire::parse_status::invalid: FUZZ_CHECK(static_cast<bool>(r.error)); break;
  }
  // Every prefix of a complete message is incomplete, never an error.
  if (r.complete()) {
    auto shorter = parse(in.first(r.size - 1));
    FUZZ_CHECK(shorter.incomplete());
  }
  return r;
}

template <class Buffer>
void check_round_trip(const Buffer& encoded, socks5::wire::bytes_view original) {
  FUZZ_CHECK(encoded.size() == original.size());
  FUZZ_CHECK(std::memcmp(encoded.data(), original.data(), original.size()) == 0);
}

}  // namespace fuzz
