// Building blocks of the I/O-free codecs: a fixed-capacity output buffer and the result of an
// incremental parse.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>

#include "socks5/error.hpp"

namespace socks5::wire {

using byte = std::uint8_t;
using bytes_view = std::span<const byte>;

// Encoded messages are small and bounded: keep them off the heap.
template <std::size_t Capacity>
class static_buffer {
 public:
  static constexpr std::size_t capacity() noexcept { return Capacity; }
  const byte* data() const noexcept { return bytes_.data(); }
  byte* data() noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bytes_view view() const noexcept { return {bytes_.data(), size_}; }
  operator bytes_view() const noexcept { return view(); }

  void clear() noexcept { size_ = 0; }
  // Callers check sizes against the message limits before appending; overflow is a bug.
  void push_back(byte b) noexcept { bytes_[size_++] = b; }
  void append(bytes_view more) noexcept {
    if (more.empty()) return;  // an empty view may have no data pointer at all
    std::memcpy(bytes_.data() + size_, more.data(), more.size());
    size_ += more.size();
  }
  void append(const void* p, std::size_t n) noexcept {
    append(bytes_view(static_cast<const byte*>(p), n));
  }
  void put_u16(std::uint16_t v) noexcept {
    push_back(static_cast<byte>(v >> 8));
    push_back(static_cast<byte>(v & 0xff));
  }

 private:
  std::array<byte, Capacity> bytes_{};
  std::size_t size_ = 0;
};

enum class parse_status : std::uint8_t {
  complete,    // value is the message; size is how many octets it took
  incomplete,  // size is how many octets the message needs at least, counted from the start
  invalid,     // error says why
};

template <class T>
struct parse_result {
  parse_status status = parse_status::incomplete;
  std::size_t size = 0;
  std::error_code error;
  T value{};

  static parse_result need(std::size_t total) { return {parse_status::incomplete, total, {}, {}}; }
  static parse_result fail(std::error_code ec) { return {parse_status::invalid, 0, ec, {}}; }
  static parse_result done(std::size_t consumed, T v) {
    return {parse_status::complete, consumed, {}, std::move(v)};
  }

  bool complete() const noexcept { return status == parse_status::complete; }
  bool incomplete() const noexcept { return status == parse_status::incomplete; }
  bool invalid() const noexcept { return status == parse_status::invalid; }
};

// Parse a whole message that must fill `input` exactly: short input is truncated_message,
// extra octets are trailing_data.
template <class T, class Parser>
parse_result<T> parse_exact(Parser&& parse, bytes_view input) {
  auto r = parse(input);
  if (r.incomplete()) return parse_result<T>::fail(errc::truncated_message);
  if (r.complete() && r.size != input.size()) return parse_result<T>::fail(errc::trailing_data);
  return r;
}

inline std::uint16_t get_u16(const byte* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace socks5::wire
