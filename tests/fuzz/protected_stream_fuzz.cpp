// ProtectedStream's reassembly: hostile framed bytes arrive through an in-memory stream in read
// chunks of sizes the input picks, and are read back through buffers of sizes it picks too. The
// stream must deliver exactly the plaintext of the frames before the first bad one, then that
// frame's error (or the end of the stream), and never hang. What it delivered is then written
// back through a ProtectedStream and must come out as frames that carry it unchanged.
#include <algorithm>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "fake_protection.hpp"
#include "fuzz.hpp"

namespace {

using socks5::wire::byte;
using socks5::wire::bytes_view;

// Hands out `data` in chunks whose sizes cycle through `chunks`, then the end of the stream;
// keeps what is written to it.
class memory_stream {
 public:
  using executor_type = asio::io_context::executor_type;
  memory_stream(asio::io_context& io, bytes_view data, std::vector<std::size_t> chunks)
      : io_(io), data_(data), chunks_(std::move(chunks)) {}

  executor_type get_executor() { return io_.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          const std::size_t room = asio::buffer_size(b);
          FUZZ_CHECK(room > 0);  // a zero-length read here would spin
          const std::size_t chunk = chunks_[reads_++ % chunks_.size()];
          const std::size_t n = std::min({room, chunk, data_.size() - at_});
          std::error_code ec;
          if (n == 0) ec = asio::error::eof;
          asio::buffer_copy(b, asio::buffer(data_.data() + at_, n));
          at_ += n;
          asio::post(io_, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          const std::size_t n = std::min<std::size_t>(asio::buffer_size(b), 3000);
          const auto old = written.size();
          written.resize(old + n);
          asio::buffer_copy(asio::buffer(written.data() + old, n), b, n);
          asio::post(io_, [h = std::move(handler), n]() mutable { h(std::error_code{}, n); });
        },
        token, buffers);
  }

  std::vector<byte> written;

 private:
  asio::io_context& io_;
  bytes_view data_;
  std::vector<std::size_t> chunks_;
  std::size_t at_ = 0;
  std::size_t reads_ = 0;
};

// What a correct reader yields from `in`: the plaintext of every frame up to the first that
// fails, and the error that ends the stream.
std::error_code expected_plaintext(bytes_view in, std::vector<byte>& plain) {
  test::fake_protection p;
  std::size_t at = 0;
  for (;;) {
    const bytes_view rest = in.subspan(at);
    const auto h = socks5::wire::parse_frame_header(rest);
    if (h.invalid()) return h.error;
    if (h.incomplete() || rest.size() < h.size + h.value.length)
      return rest.empty() ? std::error_code(asio::error::eof)
                          : std::error_code(socks5::errc::truncated_frame);
    if (auto ec = p.unwrap(h.value.type, rest.subspan(h.size, h.value.length), plain)) return ec;
    at += h.size + h.value.length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Three octets of shape: the read chunk sizes, and the reader's buffer size.
  const std::vector<std::size_t> chunks{std::size_t{data[0]} + 1, std::size_t{data[1]} * 257 + 1,
                                        1};
  const std::size_t read_size = std::size_t{data[2]} % 64 + 1 + (data[2] >= 192 ? 70000 : 0);
  const bytes_view in(data + 3, size - 3);

  asio::io_context io;
  socks5::ProtectedStream<memory_stream, test::fake_protection> reader(
      memory_stream(io, in, chunks));
  std::vector<byte> got;
  std::vector<byte> buffer(read_size);
  std::error_code end;
  std::function<void()> read_more = [&] {
    reader.async_read_some(asio::buffer(buffer), [&](std::error_code ec, std::size_t n) {
      FUZZ_CHECK(n <= buffer.size());
      FUZZ_CHECK(ec ? n == 0 : n > 0);
      got.insert(got.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
      if (ec)
        end = ec;
      else
        read_more();
    });
  };
  // The relay's way: fill, take from the stream's own buffer, and let the buffers go whenever
  // nothing is left to take (they must stay while part of a frame or an error waits).
  std::function<void()> fill_more = [&] {
    reader.async_fill([&](std::error_code ec) {
      const auto waiting = reader.buffered();
      if (ec) {
        FUZZ_CHECK(waiting.size() == 0);
        end = ec;
        return;
      }
      FUZZ_CHECK(waiting.size() > 0);
      const std::size_t take = std::min(waiting.size(), read_size);
      const auto* first = static_cast<const byte*>(waiting.data());
      got.insert(got.end(), first, first + take);
      reader.consume(take);
      if (reader.buffered().size() == 0) reader.release_input();
      fill_more();
    });
  };
  if (data[1] & 0x80)
    fill_more();
  else
    read_more();
  io.run();

  std::vector<byte> want;
  const std::error_code want_end = expected_plaintext(in, want);
  FUZZ_CHECK(end == want_end);
  FUZZ_CHECK(got == want);

  // Back the other way: frames of at most max_plaintext_size() that decode to the same octets.
  io.restart();
  const std::size_t max_plain = std::size_t{data[0]} * 64 + 1;
  socks5::ProtectedStream<memory_stream, test::fake_protection> writer(memory_stream(io, {}, {1}),
                                                                       max_plain);
  std::error_code write_ec;
  std::size_t written = 0;
  asio::async_write(writer, asio::buffer(got), [&](std::error_code ec, std::size_t n) {
    write_ec = ec;
    written = n;
  });
  io.run();
  FUZZ_CHECK(!write_ec && written == got.size());
  std::vector<byte> round_trip;
  FUZZ_CHECK(expected_plaintext(writer.next_layer().written, round_trip) == asio::error::eof);
  FUZZ_CHECK(round_trip == got);
  return 0;
}
