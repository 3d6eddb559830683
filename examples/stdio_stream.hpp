// Standard input and output as one AsyncStream: reads come from stdin, writes go to stdout, and
// a half-close closes stdout. Regular files, which cannot be polled, are read and written
// directly.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>

namespace cli {

class stdio_stream {
 public:
  using executor_type = asio::any_io_executor;

  explicit stdio_stream(const executor_type& ex) : in_(ex), out_(ex) {
    in_pollable_ = open_end(in_, STDIN_FILENO);
    out_pollable_ = open_end(out_, STDOUT_FILENO);
  }

  executor_type get_executor() { return in_.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (in_pollable_) return in_.async_read_some(b, std::move(handler));
          const asio::mutable_buffer first = *asio::buffer_sequence_begin(b);
          const auto n = ::read(in_.native_handle(), first.data(), first.size());
          std::error_code ec;
          if (n < 0) ec = std::error_code(errno, std::system_category());
          if (n == 0 && first.size() > 0) ec = asio::error::eof;
          complete(std::move(handler), ec, n < 0 ? 0 : static_cast<std::size_t>(n));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (out_pollable_) return out_.async_write_some(b, std::move(handler));
          const asio::const_buffer first = *asio::buffer_sequence_begin(b);
          const auto n = ::write(out_.native_handle(), first.data(), first.size());
          std::error_code ec;
          if (n < 0) ec = std::error_code(errno, std::system_category());
          complete(std::move(handler), ec, n < 0 ? 0 : static_cast<std::size_t>(n));
        },
        token, buffers);
  }

  // End of our output: the reader of stdout sees end of file.
  void close_output() {
    std::error_code ignored;
    out_.close(ignored);
  }

  void close() {
    std::error_code ignored;
    in_.close(ignored);
    out_.close(ignored);
  }

 private:
  // Descriptors are duplicated so that closing them leaves 0 and 1 to the process.
  static bool open_end(asio::posix::stream_descriptor& end, int fd) {
    struct stat st {};
    const bool pollable = ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
    end.assign(::dup(fd));
    if (pollable) {
      std::error_code ignored;
      end.non_blocking(true, ignored);
    }
    return pollable;
  }

  template <class Handler>
  void complete(Handler handler, std::error_code ec, std::size_t n) {
    auto ex = asio::get_associated_executor(handler, in_.get_executor());
    asio::post(ex, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
  }

  asio::posix::stream_descriptor in_;
  asio::posix::stream_descriptor out_;
  bool in_pollable_ = true;
  bool out_pollable_ = true;
};

// The relay's half-close and close for this stream (found by argument-dependent lookup).
inline asio::awaitable<void> async_shutdown_send(stdio_stream& s) {
  s.close_output();
  co_return;
}

inline void close_stream(stdio_stream& s) {
  s.close();
}

}  // namespace cli
