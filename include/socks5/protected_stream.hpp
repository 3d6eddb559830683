// ProtectedStream<NextLayer, Protection>: a stream adapter that carries plaintext in
// VER|TYPE|LEN frames whose bodies a Protection wraps and unwraps (GSS-API tokens, TLS records).
// It models AsyncReadStream and AsyncWriteStream, so asio::async_read, asio::async_write and the
// relay use it unchanged. One read and one write may be outstanding at a time, as on a socket.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "socks5/detail/transfer_whole.hpp"
#include "socks5/protection.hpp"
#include "socks5/wire/frame.hpp"

namespace socks5 {

// What ProtectedStream needs of a protection. Both it and the abstract socks5::protection have
// the same four operations.
template <class P>
concept Protection = requires(P& p, wire::bytes_view v, std::vector<wire::byte>& out,
                              wire::byte t) {
  { p.max_plaintext_size() } -> std::convertible_to<std::size_t>;
  { p.wrap(v, out) } -> std::same_as<std::error_code>;
  { p.unwrap(t, v, out) } -> std::same_as<std::error_code>;
  { p.close(out) } -> std::same_as<std::error_code>;
  { p.end_of_stream() } -> std::same_as<std::error_code>;
};

// A protection chosen at run time, during method negotiation.
class dynamic_protection {
 public:
  explicit dynamic_protection(std::unique_ptr<protection> p) : p_(std::move(p)) {}
  std::size_t max_plaintext_size() const noexcept { return p_->max_plaintext_size(); }
  std::error_code wrap(wire::bytes_view plain, std::vector<wire::byte>& body) {
    return p_->wrap(plain, body);
  }
  std::error_code unwrap(wire::byte type, wire::bytes_view body, std::vector<wire::byte>& plain) {
    return p_->unwrap(type, body, plain);
  }
  std::error_code close(std::vector<wire::byte>& frames) { return p_->close(frames); }
  std::error_code end_of_stream() const { return p_->end_of_stream(); }
  protection& get() noexcept { return *p_; }

 private:
  std::unique_ptr<protection> p_;
};

template <class NextLayer, Protection P>
class ProtectedStream {
 public:
  using next_layer_type = std::remove_reference_t<NextLayer>;
  using executor_type = typename next_layer_type::executor_type;

  template <class... Args>
  explicit ProtectedStream(NextLayer next, Args&&... protection_args)
      : next_(std::move(next)), protection_(std::forward<Args>(protection_args)...) {}

  ProtectedStream(ProtectedStream&&) = default;
  ProtectedStream& operator=(ProtectedStream&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }
  P& protection() noexcept { return protection_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(std::error_code, std::size_t)>(
        read_op<MutableBuffers>(*this, buffers), token, next_);
  }

  // For a relay that writes straight from this stream's own buffer rather than copying into one
  // of its own: completes once unwrapped plaintext is waiting (see buffered()), or with the
  // error or end of stream a read would report.
  template <class Token>
  auto async_fill(Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(fill_op(*this), token, next_);
  }
  // The plaintext waiting to be read, and taking `n` octets of it.
  asio::const_buffer buffered() const noexcept {
    return asio::buffer(plain_.data() + plain_start_, plain_.size() - plain_start_);
  }
  void consume(std::size_t n) noexcept {
    plain_start_ += std::min(n, plain_.size() - plain_start_);
  }

  // An idle session holds no buffers: these free the receive buffers and the send buffers, to
  // be allocated again by the next read or write. Only between operations on that side. The
  // receive buffers go only when nothing waits in them (plaintext, part of a frame, an error to
  // report): the return value says whether they went.
  bool release_input() noexcept {
    if (read_error_ || in_start_ != in_end_ || plain_start_ != plain_.size()) return false;
    std::vector<wire::byte>().swap(in_);
    std::vector<wire::byte>().swap(plain_);
    in_start_ = in_end_ = plain_start_ = 0;
    input_filled_ = false;
    return true;
  }
  void release_output() noexcept {
    std::vector<wire::byte>().swap(out_);
    std::vector<wire::byte>().swap(scratch_);
  }
  // Octets of buffer held, both sides.
  std::size_t buffer_capacity() const noexcept {
    return in_.capacity() + plain_.capacity() + out_.capacity() + scratch_.capacity();
  }

  // Sends up to frames_per_write frames of at most max_plaintext_size() octets each.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(std::error_code, std::size_t)>(
        write_op<ConstBuffers>(*this, buffers), token, next_);
  }

  // Writes the protection's closing frames, if it has any (the SSL method's close_notify); the
  // next layer is left as it is.
  template <class Token>
  auto async_write_close(Token&& token) {
    return asio::async_compose<Token, void(std::error_code)>(close_op(*this), token, next_);
  }

 private:
  // Frames wrapped per write, and room for as many whole frames (plus the start of the next)
  // per read: fewer system calls, at the cost of buffers that big while data flows.
  static constexpr std::size_t frames_per_write = 4;
  static constexpr std::size_t input_capacity =
      frames_per_write * (wire::frame_header_size + wire::max_frame_body) + 16384;
  static constexpr std::size_t initial_input_capacity = 4096;

  bool read_ready() const noexcept { return plain_start_ < plain_.size() || read_error_; }

  // Unwraps every complete frame received so far. Errors are kept and reported once the
  // plaintext before them has been delivered.
  void unwrap_frames() {
    while (!read_error_) {
      const wire::bytes_view pending(in_.data() + in_start_, in_end_ - in_start_);
      const auto header = wire::parse_frame_header(pending);
      if (header.invalid()) {
        read_error_ = header.error;
        return;
      }
      if (header.incomplete() || pending.size() < header.size + header.value.length) return;
      if (plain_start_ == plain_.size()) {
        plain_.clear();
        plain_start_ = 0;
      }
      read_error_ = protection_.unwrap(header.value.type,
                                       pending.subspan(header.size, header.value.length), plain_);
      in_start_ += header.size + header.value.length;
    }
  }

  // Free space for the next read, compacting what is left of a partial frame to the front. The
  // buffer starts small and grows to input_capacity only when a read fills it (a bulk transfer)
  // or a frame needs the room: a session exchanging short messages never holds the large buffer,
  // and the heap does not keep large blocks once lent to many such sessions at once.
  asio::mutable_buffer input_space() {
    if (in_start_ == in_end_) in_start_ = in_end_ = 0;
    const std::size_t pending = in_end_ - in_start_;
    std::size_t wanted = std::max(in_.size(), initial_input_capacity);
    if (input_filled_) wanted = input_capacity;
    const auto header = wire::parse_frame_header(wire::bytes_view(in_.data() + in_start_, pending));
    if (!header.invalid() && !header.incomplete())
      wanted = std::max(wanted, header.size + std::size_t{header.value.length});
    const bool short_of_a_frame =
        in_.size() - in_end_ < wire::frame_header_size + wire::max_frame_body;
    if (in_start_ > 0 && (in_.size() < wanted || short_of_a_frame)) {
      std::memmove(in_.data(), in_.data() + in_start_, pending);
      in_end_ = pending;
      in_start_ = 0;
    }
    if (in_.size() < wanted) in_.resize(wanted);
    input_offered_ = in_.size() - in_end_;
    return asio::buffer(in_.data() + in_end_, input_offered_);
  }

  // After a read of the next layer completed with `ec` and `n` octets: unwraps what arrived.
  // True when a read can complete: plaintext is waiting, or `ec` now holds the error to report
  // (errors are reported only once the plaintext before them is gone).
  bool take_input(std::error_code& ec, std::size_t n) {
    if (ec == asio::error::eof)
      ec = in_start_ != in_end_ ? std::error_code(errc::truncated_frame)
                                : protection_.end_of_stream();
    in_end_ += n;
    input_filled_ = n == input_offered_;
    unwrap_frames();
    if (plain_start_ < plain_.size()) {
      ec.clear();
      return true;
    }
    if (read_error_) ec = read_error_;
    return static_cast<bool>(ec);
  }

  template <class MutableBuffers>
  std::size_t deliver(const MutableBuffers& buffers) {
    const auto n = asio::buffer_copy(
        buffers, asio::buffer(plain_.data() + plain_start_, plain_.size() - plain_start_));
    plain_start_ += n;
    return n;
  }

  // The first step of a read or fill: it completes through a post, never inside the initiating
  // function, when `at_once` or when plaintext or an error is waiting; otherwise it reads.
  template <class Self>
  void start_input(Self& self, bool at_once) {
    if (at_once || read_ready()) return asio::post(std::move(self));
    read_more(self);
  }

  template <class Self>
  void read_more(Self& self) {
    next_.async_read_some(input_space(), std::move(self));
  }

  template <class MutableBuffers>
  struct read_op {
    read_op(ProtectedStream& stream, const MutableBuffers& b) : s(stream), buffers(b) {}
    ProtectedStream& s;
    MutableBuffers buffers;
    bool reading = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
      if (!reading) {
        reading = true;
        return s.start_input(self, asio::buffer_size(buffers) == 0);
      }
      const bool done = s.take_input(ec, n);
      if (s.plain_start_ < s.plain_.size() || asio::buffer_size(buffers) == 0) {
        const auto delivered = s.deliver(buffers);
        return self.complete(std::error_code{}, delivered);
      }
      if (done) return self.complete(ec, 0);
      s.read_more(self);
    }
  };

  struct fill_op {
    explicit fill_op(ProtectedStream& stream) : s(stream) {}
    ProtectedStream& s;
    bool reading = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
      if (!reading) {
        reading = true;
        return s.start_input(self, false);
      }
      if (s.take_input(ec, n)) return self.complete(ec);
      s.read_more(self);
    }
  };

  // Wraps up to frames_per_write frames' worth of `buffers` into out_, one frame per
  // max_plaintext_size() octets; returns how much plaintext it took. Several frames per write
  // keep the system calls as few as without protection.
  template <class ConstBuffers>
  std::error_code build_frames(const ConstBuffers& buffers, std::size_t& taken) {
    const std::size_t chunk = protection_.max_plaintext_size();
    const std::size_t total = asio::buffer_size(buffers);
    taken = total;
    if (total > chunk) {
      // Whole chunks, and the rest only if it is not a sliver: asio::async_write hands over 64
      // KiB at a time, and a 2-octet frame after each 65534-octet one would waste a wrap.
      const std::size_t whole = std::min(total / chunk, frames_per_write);
      taken = whole * chunk;
      if (whole < frames_per_write && total - taken >= chunk / 4) taken = total;
    }
    const asio::const_buffer first = *asio::buffer_sequence_begin(buffers);
    wire::bytes_view plain(static_cast<const wire::byte*>(first.data()), taken);
    if (first.size() < taken) {
      scratch_.resize(taken);
      asio::buffer_copy(asio::buffer(scratch_), buffers, taken);
      plain = wire::bytes_view(scratch_.data(), taken);
    }
    out_.clear();
    for (std::size_t at = 0; at < taken; at += chunk) {
      const std::size_t header = out_.size();
      out_.resize(header + wire::frame_header_size);
      if (auto ec = protection_.wrap(plain.subspan(at, std::min(chunk, taken - at)), out_))
        return ec;
      const std::size_t body = out_.size() - header - wire::frame_header_size;
      if (body > wire::max_frame_body) return errc::frame_too_large;
      wire::encode_frame_header(wire::frame_type::data, static_cast<std::uint16_t>(body),
                                out_.data() + header);
    }
    return {};
  }

  template <class ConstBuffers>
  struct write_op {
    write_op(ProtectedStream& stream, const ConstBuffers& b) : s(stream), buffers(b) {}
    ProtectedStream& s;
    ConstBuffers buffers;
    enum class step { start, finish_posted, finish_written } at = step::start;
    std::size_t taken = 0;
    std::error_code failure;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
      switch (at) {
        case step::start:
          if (asio::buffer_size(buffers) != 0) failure = s.build_frames(buffers, taken);
          if (asio::buffer_size(buffers) == 0 || failure) {
            at = step::finish_posted;
            return asio::post(std::move(self));
          }
          at = step::finish_written;
          return asio::async_write(s.next_, asio::buffer(s.out_),
                                   detail::transfer_whole(s.out_.size()), std::move(self));
        case step::finish_posted: return self.complete(failure, 0);
        case step::finish_written: return self.complete(ec, ec ? 0 : taken);
      }
    }
  };

  struct close_op {
    explicit close_op(ProtectedStream& stream) : s(stream) {}
    ProtectedStream& s;
    enum class step { start, finish_posted, finish_written } at = step::start;
    std::error_code failure;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
      switch (at) {
        case step::start:
          s.out_.clear();
          failure = s.protection_.close(s.out_);
          if (failure || s.out_.empty()) {
            at = step::finish_posted;
            return asio::post(std::move(self));
          }
          at = step::finish_written;
          return asio::async_write(s.next_, asio::buffer(s.out_),
                                   detail::transfer_whole(s.out_.size()), std::move(self));
        case step::finish_posted: return self.complete(failure);
        case step::finish_written: return self.complete(ec);
      }
    }
  };

  NextLayer next_;
  P protection_;

  std::vector<wire::byte> in_;  // received frames, [in_start_, in_end_) not yet unwrapped
  std::size_t in_start_ = 0;
  std::size_t in_end_ = 0;
  std::size_t input_offered_ = 0;  // the free space the last read was given
  bool input_filled_ = false;      // and whether it filled it
  std::vector<wire::byte> plain_;  // unwrapped, [plain_start_, end) not yet delivered
  std::size_t plain_start_ = 0;
  std::error_code read_error_;

  std::vector<wire::byte> out_;      // the frame being written
  std::vector<wire::byte> scratch_;  // plaintext gathered from several buffers
};

}  // namespace socks5
