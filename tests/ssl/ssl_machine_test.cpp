// The SSL method's machines against each other in memory: frames and option messages byte by
// byte as the draft defines them, subauthentication inside TLS, resumption.
#include <doctest/doctest.h>

#include "bytes.hpp"
#include "machines.hpp"
#include "pki.hpp"
#include "socks5/auth/ssl.hpp"
#include "socks5/auth/tls_protection.hpp"
#include "socks5/auth/user_pass.hpp"
#include "socks5/wire/frame.hpp"
#include "socks5/wire/ssl_options.hpp"
#include "ssl_sides.hpp"

using namespace socks5;
using test::b;
using test::bytes;
using test::certs;
using test::ssl_client_method;
using test::ssl_server;
using test::trusting_test_ca;

namespace {

struct frame {
  std::uint8_t ver, state;
  std::size_t length;
};

// Every frame in a side's writes, in order.
std::vector<frame> frames_of(const std::vector<bytes>& writes) {
  bytes all;
  for (const auto& w : writes)
    all.insert(all.end(), w.begin(), w.end());
  std::vector<frame> out;
  for (std::size_t at = 0; at + 4 <= all.size();) {
    const std::size_t length = (all[at + 2] << 8) | all[at + 3];
    out.push_back({all[at], all[at + 1], length});
    at += 4 + length;
  }
  return out;
}

std::vector<std::uint8_t> states(const std::vector<frame>& frames) {
  std::vector<std::uint8_t> out;
  for (const auto& f : frames)
    out.push_back(f.state);
  return out;
}

}  // namespace

TEST_CASE("option message codec: LEN OPTIONS, exact bytes") {
  wire::ssl_options_buffer out;
  REQUIRE_FALSE(wire::encode(
      wire::ssl_options{{wire::ssl_option::subauthentication, wire::ssl_option::udp_naked}}, out));
  CHECK(test::to_bytes(out) == b({0x02, 0x01, 0x10}));
  REQUIRE_FALSE(wire::encode(wire::ssl_options{}, out));
  CHECK(test::to_bytes(out) == b({0x00}));  // no options
  auto r = wire::parse_ssl_options(b({0x03, 0x10, 0x7f, 0x01}));
  REQUIRE(r.complete());
  CHECK(r.size == 4);
  CHECK(r.value.has(wire::ssl_option::subauthentication));
  CHECK(r.value.has(wire::ssl_option::udp_naked));
  CHECK(r.value.options.size() == 3);  // the unknown 7F is carried, not interpreted
  CHECK(wire::parse_ssl_options(b({0x02, 0x01})).size == 3);
  CHECK(wire::parse_ssl_options(b({})).size == 1);
  CHECK(wire::encode(wire::ssl_options{std::vector<wire::byte>(256, 1)}, out) ==
        errc::bad_ssl_options);
}

TEST_CASE("frame headers: VER 01 with STATE 01 handshake, 02 options, 03 data, 04 closing") {
  for (std::uint8_t state : {0x01, 0x02, 0x03, 0x04}) {
    wire::byte h[4];
    wire::encode_frame_header(state, 0x0102, h);
    CHECK(bytes(h, h + 4) == b({0x01, state, 0x01, 0x02}));
    auto p = wire::parse_frame_header(bytes(h, h + 4));
    REQUIRE(p.complete());
    CHECK(p.value.type == state);
  }
}

TEST_CASE("machines: TLS in STATE 01, options in STATE 02, then a working protection") {
  auto server = ssl_server().start({});
  auto client = ssl_client_method().start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE_MESSAGE(t.client_done, t.client_error.message());
  REQUIRE_MESSAGE(t.server_done, t.server_error.message());

  const auto from_client = frames_of(t.client_sent);
  const auto from_server = frames_of(t.server_sent);
  REQUIRE_FALSE(from_client.empty());
  for (const auto& f : from_client)
    CHECK(f.ver == 0x01);
  for (const auto& f : from_server)
    CHECK(f.ver == 0x01);
  // The ClientHello opens the exchange: a TLS handshake record (content type 22) in STATE 01.
  CHECK(t.client_sent[0][1] == 0x01);
  CHECK(t.client_sent[0][4] == 0x16);
  // STATE never goes backwards, and the options come last, in STATE 02.
  const auto cs = states(from_client), ss = states(from_server);
  CHECK(std::is_sorted(cs.begin(), cs.end()));
  CHECK(std::is_sorted(ss.begin(), ss.end()));
  CHECK(cs.back() == 0x02);
  CHECK(ss.back() == 0x02);
  CHECK(cs.front() == 0x01);
  CHECK(ss.front() == 0x01);

  // Data both ways through the protections, in STATE 03 frames once framed.
  auto cp = client.take_protection();
  auto sp = server.take_protection();
  REQUIRE(cp);
  REQUIRE(sp);
  // Both sides name the same negotiated suite and version: TLS 1.3, the newest both support.
  const auto* ctls = dynamic_cast<const TlsProtection*>(cp.get());
  const auto* stls = dynamic_cast<const TlsProtection*>(sp.get());
  REQUIRE(ctls);
  REQUIRE(stls);
  CHECK(ctls->version() == "TLSv1.3");
  CHECK(stls->version() == "TLSv1.3");
  CHECK(ctls->cipher().rfind("TLS_", 0) == 0);
  CHECK(ctls->cipher() == stls->cipher());
  std::vector<wire::byte> body, plain;
  const bytes request = b({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80});
  REQUIRE_FALSE(cp->wrap(request, body));
  CHECK(body[0] == 0x17);  // a TLS application data record
  REQUIRE_FALSE(sp->unwrap(wire::frame_type::data, body, plain));
  CHECK(plain == request);
  // A STATE going backwards is refused.
  CHECK(sp->unwrap(wire::frame_type::ssl_options, body, plain) == errc::bad_state);
  // close_notify goes in STATE 04; the other side sees the end of the stream.
  std::vector<wire::byte> closing;
  REQUIRE_FALSE(cp->close(closing));
  REQUIRE(closing.size() > 4);
  CHECK(bytes(closing.begin(), closing.begin() + 2) == b({0x01, 0x04}));
  plain.clear();
  CHECK(sp->unwrap(wire::frame_type::ssl_closing, wire::bytes_view(closing).subspan(4), plain) ==
        asio::error::eof);
  CHECK(sp->end_of_stream() == asio::error::eof);
  CHECK(cp->end_of_stream() == errc::missing_close_notify);  // the server has not closed yet
}

TEST_CASE("machines: the option messages, read back from inside TLS") {
  // UDP-Naked offered and agreed; no subauthentication.
  auto co = trusting_test_ca();
  co.udp_naked = true;
  auto client = ssl_client_method(co).start({"localhost"});
  auto server = ssl_server().start({});
  auto t = test::converse(client, server);
  REQUIRE(t.client_done);
  REQUIRE(t.server_done);
  CHECK(client.udp_naked());
  CHECK(server.udp_naked());

  // A server that does not agree to it leaves it out of its answer.
  SslAuth::server_options no_udp;
  no_udp.udp_naked = false;
  auto client2 = ssl_client_method(co).start({"localhost"});
  auto server2 = ssl_server(no_udp).start({});
  auto t2 = test::converse(client2, server2);
  REQUIRE(t2.client_done);
  CHECK_FALSE(client2.udp_naked());
  CHECK_FALSE(server2.udp_naked());
}

TEST_CASE("machines: subauthentication with username/password inside TLS") {
  const credential_verifier alice = [](std::string_view u, std::string_view p) {
    return u == "alice" && p == "wonderland";
  };
  SslAuth::server_options so;
  so.subauth = {UserPassAuth::server{alice}};
  auto good = trusting_test_ca();
  good.subauth = {UserPassAuth::client{"alice", "wonderland"}};
  auto server = ssl_server(so).start({});
  auto client = ssl_client_method(good).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE_MESSAGE(t.client_done, t.client_error.message());
  REQUIRE_MESSAGE(t.server_done, t.server_error.message());
  CHECK(server.identity() == "alice");
  // Nothing of the exchange is readable on the wire: no user name, no password.
  bytes wire_bytes;
  for (const auto& w : t.client_sent)
    wire_bytes.insert(wire_bytes.end(), w.begin(), w.end());
  const std::string secret = "wonderland";
  CHECK(std::search(wire_bytes.begin(), wire_bytes.end(), secret.begin(), secret.end()) ==
        wire_bytes.end());

  auto wrong = trusting_test_ca();
  wrong.subauth = {UserPassAuth::client{"alice", "guess"}};
  auto server2 = ssl_server(so).start({});
  auto client2 = ssl_client_method(wrong).start({"localhost"});
  auto t2 = test::converse(client2, server2);
  CHECK(t2.client_error == errc::auth_failed);
  CHECK(t2.server_error == errc::auth_failed);

  // A client that offers no subauthentication to a server that requires it does not get in.
  auto server3 = ssl_server(so).start({});
  auto client3 = ssl_client_method().start({"localhost"});
  auto t3 = test::converse(client3, server3);
  CHECK(t3.server_error == errc::auth_rejected_by_policy);
  CHECK_FALSE(t3.client_done);
}

TEST_CASE("machines: mutual TLS hands the client certificate's subject over as the identity") {
  SslAuth::server_options so;
  so.client_ca_file = certs().cert("client-ca");
  auto co = trusting_test_ca();
  co.cert_file = certs().cert("alice");
  co.key_file = certs().key("alice");
  auto server = ssl_server(so).start({});
  auto client = ssl_client_method(co).start({"localhost"});
  auto t = test::converse(client, server);
  REQUIRE_MESSAGE(t.server_done, t.server_error.message());
  CHECK(server.identity() == "O=cosocks tests,CN=alice");

  // Without a certificate the handshake fails on the server, which sends an alert.
  auto server2 = ssl_server(so).start({});
  auto client2 = ssl_client_method().start({"localhost"});
  auto t2 = test::converse(client2, server2);
  CHECK(t2.server_error == condition::auth_failure);
  CHECK(t2.client_error == condition::auth_failure);
}

TEST_CASE("machines: a second connection of the same client resumes the TLS session") {
  auto server_side = ssl_server();
  auto client_side = ssl_client_method();
  auto first_server = server_side.start({});
  auto first = client_side.start({"localhost"});
  auto t1 = test::converse(first, first_server);
  REQUIRE(t1.client_done);
  CHECK_FALSE(first.session_resumed());
  auto second_server = server_side.start({});
  auto second = client_side.start({"localhost"});
  auto t2 = test::converse(second, second_server);
  REQUIRE(t2.client_done);
  CHECK(second.session_resumed());
}

TEST_CASE("machines: X'06' as a configured alias of the method code") {
  auto co = trusting_test_ca();
  co.code = method::ssl_iana;
  SslAuth::server_options so;
  so.code = method::ssl_iana;
  CHECK(ssl_client_method(co).code() == 0x06);
  CHECK(ssl_server(so).code() == 0x06);
  CHECK(ssl_client_method().code() == 0x86);
}

TEST_CASE("machines: leaving the option phase without an option message is a protocol error") {
  auto server = ssl_server().start({});
  auto client = ssl_client_method().start({"localhost"});
  // Once the handshake is over, every STATE 02 frame the client sends becomes an empty STATE 03
  // frame: the server never gets an option message.
  auto rewrite = [](std::deque<std::uint8_t>& wire) {
    std::deque<std::uint8_t> out;
    std::size_t at = 0;
    while (at + 4 <= wire.size()) {
      const std::size_t length = (wire[at + 2] << 8) | wire[at + 3];
      if (at + 4 + length > wire.size()) break;
      if (wire[at + 1] == 0x02)
        out.insert(out.end(), {0x01, 0x03, 0x00, 0x00});
      else
        out.insert(out.end(), wire.begin() + static_cast<std::ptrdiff_t>(at),
                   wire.begin() + static_cast<std::ptrdiff_t>(at + 4 + length));
      at += 4 + length;
    }
    out.insert(out.end(), wire.begin() + static_cast<std::ptrdiff_t>(at), wire.end());
    wire = std::move(out);
  };
  auto t = test::converse(client, server, rewrite);
  CHECK(t.server_error == errc::bad_ssl_options);
  CHECK_FALSE(t.server_done);
}

TEST_CASE("machines: a handshake frame with another VER, or STATE X'FF', ends the negotiation") {
  struct tampering {
    std::size_t offset;
    std::uint8_t value;
    std::error_code expected;
  };
  for (const auto& t :
       {tampering{0, 0x02, errc::bad_frame_version}, tampering{1, 0xFF, errc::bad_state}}) {
    INFO("octet " << t.offset << " set to " << int(t.value));
    auto server = ssl_server().start({});
    auto client = ssl_client_method().start({"localhost"});
    bool tampered = false;
    auto rewrite = [&](std::deque<std::uint8_t>& wire) {
      if (tampered || wire.size() < 4) return;
      wire[t.offset] = t.value;  // the header of the client's first frame
      tampered = true;
    };
    auto tr = test::converse(client, server, rewrite);
    CHECK(tr.server_error == t.expected);
    CHECK_FALSE(tr.server_done);
  }
}
