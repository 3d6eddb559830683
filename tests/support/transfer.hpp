// Sends a payload through any stream while reading back what returns, concurrently, and
// returns the digest of what came back.
#pragma once

#include <asio/experimental/awaitable_operators.hpp>

#include "digest.hpp"
#include "socks5/client.hpp"
#include "socks5/relay.hpp"

namespace test {

template <class Stream>
asio::awaitable<std::error_code> send_all_then_half_close(Stream& s,
                                                          const std::vector<char>& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    const std::size_t chunk = std::min<std::size_t>(data.size() - at, 256 * 1024);
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(data.data() + at, chunk),
                                              socks5::detail::use_tuple);
    if (ec) co_return ec;
    at += n;
  }
  co_await socks5::async_shutdown_send(s);
  co_return std::error_code{};
}

struct received {
  std::error_code error;
  std::size_t size = 0;
  digest hash{};
};

template <class Stream>
asio::awaitable<received> receive_to_eof(Stream& s) {
  received r;
  hasher h;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), socks5::detail::use_tuple);
    h.update(buf.data(), n);
    r.size += n;
    if (ec) {
      if (ec != asio::error::eof) r.error = ec;
      break;
    }
  }
  r.hash = h.final();
  co_return r;
}

// Reads exactly `size` octets (or until the stream ends) and hashes them.
template <class Stream>
asio::awaitable<received> receive_exactly(Stream& s, std::size_t size) {
  received r;
  hasher h;
  std::vector<char> buf(64 * 1024);
  while (r.size < size) {
    const std::size_t want = std::min(buf.size(), size - r.size);
    auto [ec, n] =
        co_await s.async_read_some(asio::buffer(buf.data(), want), socks5::detail::use_tuple);
    h.update(buf.data(), n);
    r.size += n;
    if (ec) {
      r.error = ec;
      break;
    }
  }
  r.hash = h.final();
  co_return r;
}

template <class Stream>
asio::awaitable<std::error_code> send_all(Stream& s, const std::vector<char>& data) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), socks5::detail::use_tuple);
  co_return ec;
}

// Round trip through an echo without half-close, for proxies that end the whole connection on
// the first end of stream (microsocks does).
template <class Stream>
asio::awaitable<received> echo_exact(Stream& s, const std::vector<char>& data) {
  using namespace asio::experimental::awaitable_operators;
  auto [send_ec, got] = co_await (send_all(s, data) && receive_exactly(s, data.size()));
  if (send_ec && !got.error) got.error = send_ec;
  co_return got;
}

// Round trip through an echo: everything sent must come back, then end of stream.
template <class Stream>
asio::awaitable<received> echo_round_trip(Stream& s, const std::vector<char>& data) {
  using namespace asio::experimental::awaitable_operators;
  auto [send_ec, got] = co_await (send_all_then_half_close(s, data) && receive_to_eof(s));
  if (send_ec && !got.error) got.error = send_ec;
  co_return got;
}

enum class echo_mode {
  half_close,  // send everything, half-close, read to end of stream
  exact,       // no half-close, for proxies that end both directions on the first one
};

// CONNECT through `c` to an echo target and send random_payload(size, seed) round trip.
inline asio::awaitable<std::tuple<std::error_code, received>> connect_and_echo(
    socks5::client c, socks5::address target, std::size_t size, unsigned seed, echo_mode mode) {
  using result = std::tuple<std::error_code, received>;
  auto [ec, s] = co_await c.async_connect(std::move(target), socks5::detail::use_tuple);
  if (ec) co_return result{ec, {}};
  const auto data = random_payload(size, seed);
  received got;
  if (mode == echo_mode::exact)
    got = co_await echo_exact(s, data);
  else
    got = co_await echo_round_trip(s, data);
  co_return result{std::error_code{}, got};
}

}  // namespace test
