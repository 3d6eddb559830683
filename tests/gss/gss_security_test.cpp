// GSS-API security properties against the real KDC: what the established context guarantees on
// both sides, and replayed or reordered wrapped messages refused by the ProtectedStream.
#include <doctest/doctest.h>

#include <thread>

#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/write.hpp>

#include "bytes.hpp"
#include "gss_sides.hpp"
#include "machines.hpp"
#include "run.hpp"
#include "socks5/auth/driver.hpp"
#include "socks5/auth/gssapi.hpp"
#include "socks5/protected_stream.hpp"
#include "socks5/wire/frame.hpp"

using namespace socks5;
using socket_type = asio::local::stream_protocol::socket;
using test::alice;
using test::bytes;
using test::gss_server;
using test::operator+;

namespace {

struct protections {
  std::unique_ptr<protection> client, server;
};

// A fresh context between alice and the service, at level 2.
protections establish() {
  auto server = gss_server().start({});
  auto client = GssapiAuth::client(alice()).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  protections p{client.take_protection(), server.take_protection()};
  REQUIRE(p.client);
  REQUIRE(p.server);
  return p;
}

// One RFC 1961 data frame (01 03 LEN TOKEN) carrying `message` wrapped by `p`.
bytes data_frame(protection& p, const bytes& message) {
  std::vector<wire::byte> token;
  REQUIRE_FALSE(p.wrap(message, token));
  bytes frame(wire::frame_header_size);
  wire::encode_frame_header(wire::frame_type::data, static_cast<std::uint16_t>(token.size()),
                            frame.data());
  frame.insert(frame.end(), token.begin(), token.end());
  return frame;
}

struct read_result {
  std::error_code error;
  bytes data;
};

asio::awaitable<read_result> read_until_error(ProtectedStream<socket_type, dynamic_protection>& s) {
  read_result r;
  bytes buf(4096);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), detail::use_tuple);
    r.data.insert(r.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (ec) {
      r.error = ec;
      co_return r;
    }
  }
}

// `wire` as the peer would send it, read by a ProtectedStream over `p` until it fails.
read_result receive(std::unique_ptr<protection> p, const bytes& wire) {
  asio::io_context ctx;
  socket_type a(ctx), b(ctx);
  asio::local::connect_pair(a, b);
  asio::write(a, asio::buffer(wire));
  a.shutdown(socket_type::shutdown_send);
  ProtectedStream<socket_type, dynamic_protection> reader(std::move(b), std::move(p));
  return test::run(ctx, read_until_error(reader));
}

}  // namespace

TEST_CASE(
    "GSS-API: both sides' contexts have mutual authentication, replay and sequence detection") {
  auto server = gss_server().start({});
  auto client = GssapiAuth::client(alice()).start({"localhost"});
  // Nothing is claimed before there is a context.
  CHECK_FALSE(client.flags().mutual);
  CHECK_FALSE(server.flags().mutual);
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  for (const gss_context_flags& f : {client.flags(), server.flags()}) {
    CHECK(f.mutual);
    CHECK(f.replay);
    CHECK(f.sequence);
    CHECK(f.integrity);
    CHECK(f.confidentiality);
    CHECK_FALSE(f.delegated);  // not asked for
  }
}

TEST_CASE("GSS-API: a replayed wrapped frame is an error, not data") {
  auto p = establish();
  const bytes first = test::text("first message"), second = test::text("second message");
  const bytes f1 = data_frame(*p.client, first);
  const bytes f2 = data_frame(*p.client, second);
  // In order: both arrive, then the end of the stream.
  auto in_order = receive(std::move(p.server), f1 + f2);
  CHECK(in_order.data == first + second);
  CHECK(in_order.error == asio::error::eof);

  // The same frame twice: the first is delivered, the copy refused.
  auto q = establish();
  const bytes g1 = data_frame(*q.client, first);
  auto replayed = receive(std::move(q.server), g1 + g1);
  CHECK(replayed.data == first);
  CHECK(replayed.error == errc::replayed_message);
}

TEST_CASE("GSS-API: reordered or missing wrapped frames are an error, not data") {
  const bytes first = test::text("first message"), second = test::text("second message");
  {
    auto p = establish();
    const bytes f1 = data_frame(*p.client, first);
    const bytes f2 = data_frame(*p.client, second);
    auto swapped = receive(std::move(p.server), f2 + f1);
    CHECK(swapped.data.empty());
    CHECK(swapped.error == errc::replayed_message);
  }
  {
    auto p = establish();
    (void)data_frame(*p.client, first);  // lost on the way
    const bytes f2 = data_frame(*p.client, second);
    auto gap = receive(std::move(p.server), f2);
    CHECK(gap.data.empty());
    CHECK(gap.error == errc::replayed_message);
  }
}
