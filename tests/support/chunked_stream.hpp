// A next layer that hands out at most `limit` octets per read, so that tests decide exactly how
// frames are split across reads.
#pragma once

#include <vector>

#include <asio/buffer.hpp>

namespace test {

template <class Next>
class chunked_stream {
 public:
  using executor_type = typename Next::executor_type;
  chunked_stream(Next next, std::size_t limit) : next_(std::move(next)), limit_(limit) {}

  executor_type get_executor() { return next_.get_executor(); }
  Next& next_layer() { return next_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    const asio::mutable_buffer first = *asio::buffer_sequence_begin(buffers);
    ++reads;
    return next_.async_read_some(asio::buffer(first, limit_), std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    write_offers.push_back(asio::buffer_size(buffers));
    return next_.async_write_some(buffers, std::forward<Token>(token));
  }

  std::size_t reads = 0;
  std::vector<std::size_t> write_offers;  // octets offered to each write call

 private:
  Next next_;
  std::size_t limit_;
};

}  // namespace test
