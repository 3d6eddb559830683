// ProtectedStream against a fake Protection: framing, reassembly across any split, errors, and
// relaying from it.
#include <doctest/doctest.h>

#include <optional>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "chunked_stream.hpp"
#include "fake_protection.hpp"
#include "run.hpp"
#include "socks5/auth/driver.hpp"
#include "socks5/relay.hpp"
#include "socks5/stream.hpp"

using namespace socks5;
using socket_type = asio::local::stream_protocol::socket;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes pattern(std::size_t n, unsigned seed = 1) {
  bytes out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::uint8_t>((i * 131 + seed * 7) % 251);
  return out;
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct read_result {
  std::error_code error;
  bytes data;
  std::size_t reads = 0;
};

// Reads until an error (end of stream included) through `s`.
template <class Stream>
asio::awaitable<read_result> read_all(Stream& s, std::size_t chunk = 4096) {
  read_result r;
  bytes buf(chunk);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), detail::use_tuple);
    r.data.insert(r.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    ++r.reads;
    if (ec) {
      r.error = ec;
      co_return r;
    }
  }
}

// Feeds `wire` to a ProtectedStream whose next layer hands out `limit` octets per read.
read_result feed(const bytes& wire, std::size_t limit, std::size_t read_chunk = 4096) {
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  std::thread writer([&] {
    asio::write(a, asio::buffer(wire));
    a.shutdown(socket_type::shutdown_send);
  });
  ProtectedStream<test::chunked_stream<socket_type>, test::fake_protection> s(
      test::chunked_stream<socket_type>(std::move(b), limit));
  auto r = test::run(ctx, read_all(s, read_chunk));
  writer.join();
  r.reads = s.next_layer().reads;
  return r;
}

// Two ProtectedStreams over a connected pair of local sockets, each wrapping at most
// `max_plaintext` octets per frame.
struct protected_pair {
  explicit protected_pair(std::size_t max_plaintext)
      : first(linked_near_end(), max_plaintext), second(std::move(far_end), max_plaintext) {}
  socket_type linked_near_end() {
    asio::local::connect_pair(near_end, far_end);
    return std::move(near_end);
  }
  asio::io_context ctx;
  socket_type near_end{ctx}, far_end{ctx};  // moved into the streams
  ProtectedStream<socket_type, test::fake_protection> first, second;
};

}  // namespace

TEST_CASE("frame header codec: 01 TYPE LEN, and the two-octet abort message") {
  wire::byte out[4];
  wire::encode_frame_header(0x03, 0x1234, out);
  CHECK(bytes(out, out + 4) == bytes{0x01, 0x03, 0x12, 0x34});
  auto h = wire::parse_frame_header(bytes{0x01, 0x02, 0xff, 0xff});
  REQUIRE(h.complete());
  CHECK(h.value == wire::frame_header{0x02, 0xffff});
  auto abort = wire::parse_frame_header(bytes{0x01, 0xff});
  REQUIRE(abort.complete());
  CHECK(abort.size == 2);
  CHECK(abort.value.type == wire::frame_type::abort);
  CHECK(wire::parse_frame_header(bytes{0x05}).error == errc::bad_frame_version);
  CHECK(wire::parse_frame_header(bytes{0x01, 0x03, 0x00}).size == 4);
}

TEST_CASE("reassembly: one-octet reads, random splits, many frames in one read") {
  const bytes a = pattern(300, 1), b = pattern(1, 2), c = pattern(999, 3);
  const bytes wire = concat({test::fake_frame(a), test::fake_frame(b), test::fake_frame(c)});
  const bytes expected = concat({a, b, c});
  for (std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5},
                            std::size_t{7}, std::size_t{300}, std::size_t{1 << 20}}) {
    INFO("read limit " << limit);
    auto r = feed(wire, limit);
    CHECK(r.error == asio::error::eof);
    CHECK(r.data == expected);
    if (limit == 1) CHECK(r.reads >= wire.size());  // really one octet at a time
    if (limit == (1 << 20)) CHECK(r.reads <= 3);    // all frames from one read
  }
}

TEST_CASE("reassembly: a reader with a tiny buffer gets everything, in order") {
  const bytes a = pattern(5000, 4);
  auto r = feed(test::fake_frame(a), 1 << 20, 3);
  CHECK(r.data == a);
}

TEST_CASE("maximum-size frames: LEN 65535 bodies in both directions") {
  // 65534 octets of plaintext plus the checksum octet: a 65535-octet body.
  protected_pair pair(65534);
  auto& ctx = pair.ctx;
  auto& writer = pair.first;
  auto& reader = pair.second;
  const bytes data = pattern(3 * 65534 + 17, 5);
  auto send = [&]() -> asio::awaitable<void> {
    auto [ec, n] = co_await asio::async_write(writer, asio::buffer(data), detail::use_tuple);
    CHECK_FALSE(ec);
    CHECK(n == data.size());
    writer.next_layer().shutdown(socket_type::shutdown_send);
  };
  asio::co_spawn(ctx, send(), asio::detached);
  auto r = test::run(ctx, read_all(reader, 70000));
  CHECK(r.data == data);
  CHECK(writer.protection().wrapped == 4);
  CHECK(reader.protection().unwrapped == 4);
}

TEST_CASE("the receive buffer stays small for short messages and grows for a bulk transfer") {
  protected_pair pair(65534);
  auto& sender = pair.first;
  auto& receiver = pair.second;
  test::run(pair.ctx, [&]() -> asio::awaitable<void> {
    // Short messages: the buffer they were read into is small.
    for (unsigned i = 1; i <= 3; ++i) {
      const bytes message = pattern(16, i);
      auto [ec1, n1] = co_await asio::async_write(sender, asio::buffer(message), detail::use_tuple);
      CHECK_FALSE(ec1);
      bytes got(message.size());
      auto [ec2, n2] = co_await asio::async_read(receiver, asio::buffer(got), detail::use_tuple);
      CHECK_FALSE(ec2);
      CHECK(got == message);
      CHECK(receiver.buffer_capacity() <= 8192);
    }
    // A frame of the largest size after them: the buffer makes room for it.
    const bytes large = pattern(65534, 7);
    auto [ec3, n3] = co_await asio::async_write(sender, asio::buffer(large), detail::use_tuple);
    CHECK_FALSE(ec3);
    bytes got_large(large.size());
    auto [ec4, n4] =
        co_await asio::async_read(receiver, asio::buffer(got_large), detail::use_tuple);
    CHECK_FALSE(ec4);
    CHECK(got_large == large);
    // A bulk transfer fills the buffer: it grows to take several frames per read.
    const bytes bulk = pattern(2 << 20, 9);
    bytes got_bulk(bulk.size());
    std::size_t peak = 0;
    auto reader = [&]() -> asio::awaitable<void> {
      for (std::size_t at = 0; at < got_bulk.size();) {
        auto [ec, n] = co_await receiver.async_read_some(
            asio::buffer(got_bulk.data() + at, got_bulk.size() - at), detail::use_tuple);
        REQUIRE_FALSE(ec);
        at += n;
        peak = std::max(peak, receiver.buffer_capacity());
      }
    };
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, reader(), asio::detached);
    auto [ec5, n5] = co_await asio::async_write(sender, asio::buffer(bulk), detail::use_tuple);
    CHECK_FALSE(ec5);
    asio::steady_timer t(ex);
    for (int i = 0; i < 500 && got_bulk != bulk; ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
    }
    CHECK(got_bulk == bulk);
    CHECK(peak > 4 * 65536);
  }());
}

TEST_CASE("a write sends whole frames of at most max_plaintext_size octets, in one go") {
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  ProtectedStream<socket_type, test::fake_protection> s(std::move(a), 10);
  auto write_some = [&](const bytes& data) {
    return test::run(ctx, [&]() -> asio::awaitable<std::size_t> {
      auto [ec, written] = co_await s.async_write_some(asio::buffer(data), detail::use_tuple);
      co_return written;
    }());
  };
  // 25 octets: two whole frames, and the rest too since it is more than a sliver.
  const bytes data = pattern(25);
  CHECK(write_some(data) == 25);
  bytes got(3 * 4 + 25 + 3);
  asio::read(b, asio::buffer(got));
  CHECK(got == concat({test::fake_frame(bytes(data.begin(), data.begin() + 10)),
                       test::fake_frame(bytes(data.begin() + 10, data.begin() + 20)),
                       test::fake_frame(bytes(data.begin() + 20, data.end()))}));
  // 21 octets: the single octet left over waits for the next write.
  const bytes more = pattern(21, 3);
  CHECK(write_some(more) == 20);
  // Never more than four frames at once.
  CHECK(write_some(pattern(100)) == 40);
}

TEST_CASE("four frames past 64 KiB reach the next layer in one write call") {
  // asio::async_write's own conditions offer at most 64 KiB per call: four full frames would go
  // out as 65,536 octets and then a short segment of their own.
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  ProtectedStream<test::chunked_stream<socket_type>, test::fake_protection> s(
      test::chunked_stream<socket_type>(std::move(a), 0), 16384);
  const bytes data = pattern(4 * 16384);
  const std::size_t frame = 4 + 16384 + 1;  // header, body, checksum
  bytes got(4 * frame);
  std::thread reader([&] { asio::read(b, asio::buffer(got)); });
  const auto written = test::run(ctx, [&]() -> asio::awaitable<std::size_t> {
    auto [ec, n] = co_await s.async_write_some(asio::buffer(data), detail::use_tuple);
    co_return n;
  }());
  reader.join();
  CHECK(written == data.size());
  REQUIRE_FALSE(s.next_layer().write_offers.empty());
  CHECK(s.next_layer().write_offers.front() == 4 * frame);
  bytes expected;
  for (std::size_t at = 0; at < data.size(); at += 16384) {
    const auto f = test::fake_frame(bytes(data.begin() + static_cast<std::ptrdiff_t>(at),
                                          data.begin() + static_cast<std::ptrdiff_t>(at + 16384)));
    expected.insert(expected.end(), f.begin(), f.end());
  }
  CHECK(got == expected);
}

TEST_CASE("writes gather plaintext from several buffers into one frame") {
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  ProtectedStream<socket_type, test::fake_protection> s(std::move(a), 100);
  const bytes x = pattern(3, 1), y = pattern(4, 2);
  const std::array<asio::const_buffer, 2> parts{asio::buffer(x), asio::buffer(y)};
  auto n = test::run(ctx, [&]() -> asio::awaitable<std::size_t> {
    auto [ec, written] = co_await s.async_write_some(parts, detail::use_tuple);
    co_return written;
  }());
  CHECK(n == 7);
  bytes got(4 + 8);
  asio::read(b, asio::buffer(got));
  CHECK(got == test::fake_frame(concat({x, y})));
}

TEST_CASE("errors: bad VER, bad type, LEN beyond the data, a body that fails to unwrap") {
  const bytes good = test::fake_frame(pattern(10));
  SUBCASE("VER other than 01") {
    bytes frame = good;
    frame[0] = 0x05;
    auto r = feed(concat({good, frame}), 1 << 20);
    CHECK(r.data == pattern(10));  // what came before the bad frame is delivered first
    CHECK(r.error == errc::bad_frame_version);
  }
  SUBCASE("a frame type the protection does not allow") {
    auto r = feed(test::fake_frame(pattern(10), 0x02), 1 << 20);
    CHECK(r.error == errc::bad_frame_type);
    CHECK(r.data.empty());
  }
  SUBCASE("LEN beyond the data, then the connection ends") {
    bytes frame = good;
    frame[3] = static_cast<std::uint8_t>(frame[3] + 5);
    auto r = feed(frame, 1 << 20);
    CHECK(r.error == errc::truncated_frame);
  }
  SUBCASE("a header cut short by the end of the stream") {
    auto r = feed(bytes{0x01, 0x03, 0x00}, 1);
    CHECK(r.error == errc::truncated_frame);
  }
  SUBCASE("a body the protection rejects") {
    bytes frame = good;
    frame.back() ^= 0xff;
    auto r = feed(frame, 1 << 20);
    CHECK(r.error == test::bad_checksum());
  }
  SUBCASE("a clean end of stream between frames is eof") {
    auto r = feed(good, 4);
    CHECK(r.error == asio::error::eof);
    CHECK(r.data == pattern(10));
  }
}

TEST_CASE("a plaintext too large for one frame after wrapping is frame_too_large") {
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  // 65535 octets of plaintext grow to a 65536-octet body.
  ProtectedStream<socket_type, test::fake_protection> s(std::move(a), 65535);
  const bytes data = pattern(65535);
  auto ec = test::run(ctx, [&]() -> asio::awaitable<std::error_code> {
    auto [e, n] = co_await s.async_write_some(asio::buffer(data), detail::use_tuple);
    co_return e;
  }());
  CHECK(ec == errc::frame_too_large);
}

TEST_CASE("socks5::stream with a run-time protection: relay and closing frames") {
  // A protection behind the abstract interface, as negotiation produces it.
  struct boxed final : socks5::protection {
    test::fake_protection p{64};
    std::size_t max_plaintext_size() const noexcept override { return p.max_plaintext_size(); }
    std::error_code wrap(wire::bytes_view in, std::vector<wire::byte>& out) override {
      return p.wrap(in, out);
    }
    std::error_code unwrap(wire::byte t, wire::bytes_view in,
                           std::vector<wire::byte>& out) override {
      return p.unwrap(t, in, out);
    }
    std::error_code close(std::vector<wire::byte>& frames) override {
      p.send_close = true;
      return p.close(frames);
    }
  };
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  stream<socket_type> s(std::move(a), std::make_unique<boxed>());
  CHECK(s.is_protected());
  const bytes data = pattern(1000);
  test::run(ctx, [&]() -> asio::awaitable<void> {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), detail::use_tuple);
    CHECK_FALSE(ec);
    co_await async_shutdown_send(s);
  }());
  // 16 frames of 64 octets (the last shorter), then the closing frame, then end of stream.
  bytes wire;
  std::error_code ec;
  bytes buf(4096);
  for (;;) {
    const auto n = b.read_some(asio::buffer(buf), ec);
    wire.insert(wire.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (ec) break;
  }
  CHECK(ec == asio::error::eof);
  REQUIRE(wire.size() >= 4);
  CHECK(bytes(wire.end() - 4, wire.end()) == bytes{0x01, 0x04, 0x00, 0x00});
  bytes frames(wire.begin(), wire.end() - 4);
  auto r = feed(frames, 1 << 20);
  CHECK(r.data == data);

  stream<socket_type> plain{socket_type(ctx)};
  CHECK_FALSE(plain.is_protected());
}

TEST_CASE("relay from a protected stream: straight from its buffer, and no buffers held idle") {
  asio::io_context ctx;
  socket_type peer(ctx), near(ctx), target_near(ctx), target(ctx);
  asio::local::connect_pair(peer, near);
  asio::local::connect_pair(target_near, target);
  // The relay's protected side, and its peer producing and taking frames.
  ProtectedStream<socket_type, test::fake_protection> relayed(std::move(near), 1000);
  ProtectedStream<socket_type, test::fake_protection> client(std::move(peer), 1000);
  relay_counters counters;
  std::optional<std::error_code> relay_result;
  asio::co_spawn(ctx, relay(relayed, target_near, counters),
                 [&](std::exception_ptr, std::error_code ec) { relay_result = ec; });

  // Waits (bounded) until the relay has let go of every buffer of the protected stream.
  auto idle = [&]() -> asio::awaitable<std::size_t> {
    asio::steady_timer t(ctx);
    for (int i = 0; i < 500 && relayed.buffer_capacity() != 0; ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
    }
    co_return relayed.buffer_capacity();
  };
  test::run(ctx, [&]() -> asio::awaitable<void> {
    for (unsigned round = 1; round <= 2; ++round) {
      INFO("round " << round);
      const bytes up = pattern(300000, round), down = pattern(200000, round + 10);
      auto [ec1, n1] = co_await asio::async_write(client, asio::buffer(up), detail::use_tuple);
      CHECK_FALSE(ec1);
      bytes got(up.size());
      auto [ec2, n2] = co_await asio::async_read(target, asio::buffer(got), detail::use_tuple);
      CHECK_FALSE(ec2);
      CHECK(got == up);
      auto [ec3, n3] = co_await asio::async_write(target, asio::buffer(down), detail::use_tuple);
      CHECK_FALSE(ec3);
      bytes back(down.size());
      auto [ec4, n4] = co_await asio::async_read(client, asio::buffer(back), detail::use_tuple);
      CHECK_FALSE(ec4);
      CHECK(back == down);
      // Both directions have fallen silent: receive and send buffers are gone.
      const std::size_t held = co_await idle();
      CHECK(held == 0);
    }
    CHECK(counters.a_to_b == 600000);
    CHECK(counters.b_to_a == 400000);
    // End of stream each way ends the relay in order.
    client.next_layer().shutdown(socket_type::shutdown_send);
    target.shutdown(socket_type::shutdown_send);
    asio::steady_timer t(ctx);
    for (int i = 0; i < 500 && !relay_result; ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::use_awaitable);
    }
  }());
  REQUIRE(relay_result.has_value());
  CHECK_FALSE(*relay_result);
}

TEST_CASE("stream relay: an io_context destroyed mid-relay frees the relay and its handler") {
  // The relay is owned by its pending handlers: what its completion handler holds is freed with
  // the io_context's pending operations, and nothing is left in a cycle.
  auto held = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = held;
  {
    asio::io_context ctx;
    socket_type peer(ctx), near(ctx), target_near(ctx), target(ctx);
    asio::local::connect_pair(peer, near);
    asio::local::connect_pair(target_near, target);
    ProtectedStream<socket_type, test::fake_protection> relayed(std::move(near), 1000);
    relay_counters counters;
    bool done = false;
    detail::start_stream_relay(
        relayed, target_near, counters, relay_options{},
        [&done, held = std::move(held)](std::exception_ptr, std::error_code) { done = true; });
    ctx.poll();  // both directions now wait for data
    CHECK_FALSE(done);
    CHECK(relayed.buffer_capacity() == 0);  // and hold no buffer while they wait
  }
  CHECK(watch.expired());
}
