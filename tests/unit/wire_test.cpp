// Exact-byte tests of every RFC 1928 / RFC 1929 message, both directions.
#include <doctest/doctest.h>

#include "bytes.hpp"
#include "socks5/wire/method.hpp"
#include "socks5/wire/request.hpp"
#include "socks5/wire/udp.hpp"
#include "socks5/wire/user_pass.hpp"

using namespace socks5;
using namespace socks5::wire;
using test::b;
using test::bytes;
using test::operator+;

namespace {

template <class Parser>
auto exact(Parser p, const bytes& in) {
  using R = decltype(p(bytes_view{}));
  return parse_exact<typename std::remove_cvref_t<decltype(std::declval<R>().value)>>(
      p, bytes_view(in));
}

// Every strict prefix of a valid message is incomplete, never an error, and asks for more
// than it has.
template <class Parser>
void check_prefixes_incomplete(Parser p, const bytes& whole) {
  for (std::size_t n = 0; n < whole.size(); ++n) {
    auto r = p(bytes_view(whole.data(), n));
    INFO("prefix length " << n << " of " << test::hex(whole));
    REQUIRE(r.incomplete());
    CHECK(r.size > n);
    CHECK(r.size <= whole.size());
  }
}

}  // namespace

TEST_CASE("method request: the RFC's codes 00, 01, 02, an IANA code and a private one") {
  method_request msg{{method::no_auth, method::gssapi, method::username_password, 0x03, 0x86}};
  method_request_buffer out;
  REQUIRE_FALSE(encode(msg, out));
  const bytes wire = b({0x05, 0x05, 0x00, 0x01, 0x02, 0x03, 0x86});
  CHECK(test::to_bytes(out) == wire);

  auto r = exact(parse_method_request, wire);
  REQUIRE(r.complete());
  CHECK(r.size == wire.size());
  CHECK(r.value == msg);
  check_prefixes_incomplete(parse_method_request, wire);
}

TEST_CASE("method request: one method, and 255 methods") {
  auto one = exact(parse_method_request, b({0x05, 0x01, 0x00}));
  REQUIRE(one.complete());
  CHECK(one.value.methods == std::vector<method_code>{0x00});

  bytes wire = b({0x05, 0xff});
  method_request msg;
  for (int i = 0; i < 255; ++i) {
    wire.push_back(static_cast<byte>(i));
    msg.methods.push_back(static_cast<method_code>(i));
  }
  method_request_buffer out;
  REQUIRE_FALSE(encode(msg, out));
  CHECK(test::to_bytes(out) == wire);
  auto r = exact(parse_method_request, wire);
  REQUIRE(r.complete());
  CHECK(r.value == msg);
}

TEST_CASE("method request: strictness") {
  CHECK(parse_method_request(b({0x04})).error == errc::bad_version);
  CHECK(parse_method_request(b({0x04, 0x01, 0x00})).error == errc::bad_version);
  CHECK(parse_method_request(b({0x05, 0x00})).error == errc::no_methods);
  CHECK(exact(parse_method_request, b({0x05, 0x02, 0x00})).error == errc::truncated_message);
  CHECK(exact(parse_method_request, b({0x05, 0x01, 0x00, 0x00})).error == errc::trailing_data);
  // A short message says exactly how much it needs.
  CHECK(parse_method_request(b({0x05, 0x03})).size == 5);

  method_request_buffer out;
  CHECK(encode(method_request{}, out) == errc::no_methods);
  CHECK(encode(method_request{std::vector<method_code>(256, 0)}, out) == errc::trailing_data);
}

TEST_CASE("method selection: a method, and X'FF' no acceptable methods") {
  CHECK(test::to_bytes(encode(method_selection{method::username_password})) == b({0x05, 0x02}));
  CHECK(test::to_bytes(encode(method_selection{method::no_acceptable})) == b({0x05, 0xff}));

  auto r = exact(parse_method_selection, b({0x05, 0xff}));
  REQUIRE(r.complete());
  CHECK(r.value.method == method::no_acceptable);
  check_prefixes_incomplete(parse_method_selection, b({0x05, 0x00}));
  CHECK(parse_method_selection(b({0x01, 0x00})).error == errc::bad_version);
  CHECK(exact(parse_method_selection, b({0x05, 0x00, 0x00})).error == errc::trailing_data);
  CHECK(exact(parse_method_selection, b({0x05})).error == errc::truncated_message);
}

TEST_CASE("RFC 1929 request: VER 01, ULEN, UNAME, PLEN, PASSWD") {
  user_pass_request msg{"alice", "s3cr:t"};
  user_pass_request_buffer out;
  REQUIRE_FALSE(encode(msg, out));
  const bytes wire = b({0x01, 0x05}) + test::text("alice") + b({0x06}) + test::text("s3cr:t");
  CHECK(test::to_bytes(out) == wire);

  auto r = exact(parse_user_pass_request, wire);
  REQUIRE(r.complete());
  CHECK(r.value == msg);
  check_prefixes_incomplete(parse_user_pass_request, wire);
}

TEST_CASE("RFC 1929 request: 255-octet fields, empty password as curl sends it, limits") {
  user_pass_request longest{std::string(255, 'u'), std::string(255, 'p')};
  user_pass_request_buffer out;
  REQUIRE_FALSE(encode(longest, out));
  CHECK(out.size() == 513);
  auto r = exact(parse_user_pass_request, test::to_bytes(out));
  REQUIRE(r.complete());
  CHECK(r.value == longest);

  auto empty_pass = exact(parse_user_pass_request, b({0x01, 0x01, 'u', 0x00}));
  REQUIRE(empty_pass.complete());
  CHECK(empty_pass.value.username == "u");
  CHECK(empty_pass.value.password.empty());

  CHECK(encode(user_pass_request{std::string(256, 'u'), "p"}, out) == errc::credential_too_long);
  CHECK(encode(user_pass_request{"u", std::string(256, 'p')}, out) == errc::credential_too_long);
  CHECK(parse_user_pass_request(b({0x05, 0x01, 'u', 0x01, 'p'})).error == errc::bad_version);
  CHECK(exact(parse_user_pass_request, b({0x01, 0x01, 'u', 0x01, 'p', 'x'})).error ==
        errc::trailing_data);
  CHECK(exact(parse_user_pass_request, b({0x01, 0x01, 'u', 0x02, 'p'})).error ==
        errc::truncated_message);
}

TEST_CASE("RFC 1929 reply: STATUS 00 success, anything else failure") {
  CHECK(test::to_bytes(encode(user_pass_reply{0x00})) == b({0x01, 0x00}));
  CHECK(test::to_bytes(encode(user_pass_reply{0x01})) == b({0x01, 0x01}));
  auto ok = exact(parse_user_pass_reply, b({0x01, 0x00}));
  REQUIRE(ok.complete());
  CHECK(ok.value.success());
  auto bad = exact(parse_user_pass_reply, b({0x01, 0x7f}));
  REQUIRE(bad.complete());
  CHECK_FALSE(bad.value.success());
  CHECK(parse_user_pass_reply(b({0x05, 0x00})).error == errc::bad_version);
  CHECK(exact(parse_user_pass_reply, b({0x01})).error == errc::truncated_message);
  CHECK(exact(parse_user_pass_reply, b({0x01, 0x00, 0x00})).error == errc::trailing_data);
}

TEST_CASE("request: CONNECT, BIND, UDP ASSOCIATE with IPv4, domain name and IPv6") {
  struct example {
    request msg;
    bytes wire;
  };
  const example examples[] = {
      {{command::connect, address(asio::ip::make_address("192.0.2.10"), 80)},
       b({0x05, 0x01, 0x00, 0x01, 192, 0, 2, 10, 0x00, 0x50})},
      {{command::bind, address::domain("ftp.example.org", 21)},
       b({0x05, 0x02, 0x00, 0x03, 15}) + test::text("ftp.example.org") + b({0x00, 0x15})},
      {{command::udp_associate, address(asio::ip::make_address("2001:db8::1"), 0xabcd)},
       b({0x05, 0x03, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,
          0,    0,    0,    0,    0,    0,    0,    0,    0x01, 0xab, 0xcd})},
      // Clients that do not know their UDP source send zeros.
      {{command::udp_associate, address(asio::ip::make_address("0.0.0.0"), 0)},
       b({0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0})},
  };
  for (const auto& ex : examples) {
    INFO(test::hex(ex.wire));
    request_buffer out;
    REQUIRE_FALSE(encode(ex.msg, out));
    CHECK(test::to_bytes(out) == ex.wire);
    auto r = exact(parse_request, ex.wire);
    REQUIRE(r.complete());
    CHECK(r.value == ex.msg);
    check_prefixes_incomplete(parse_request, ex.wire);
  }
}

TEST_CASE("request: an IPv4-mapped IPv6 address keeps ATYP 04 (found by fuzzing)") {
  const bytes wire = b({0x05, 0x03, 0x00, 0x04, 0,    0,    0,    0,    0,    0,    0,
                        0,    0,    0,    0xff, 0xff, 0xea, 0x00, 0x01, 0x1f, 0x90, 0xff});
  auto r = parse_request(wire);
  REQUIRE(r.complete());
  CHECK(r.value.target.is_ipv6());
  request_buffer out;
  REQUIRE_FALSE(encode(r.value, out));
  CHECK(test::to_bytes(out) ==
        bytes(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(r.size)));
}

TEST_CASE("request: a 255-octet name, and an IP literal sent as a name stays a name") {
  const std::string name(255, 'a');
  request msg{command::connect, address::domain(name, 443)};
  request_buffer out;
  REQUIRE_FALSE(encode(msg, out));
  CHECK(out.size() == 4 + 1 + 255 + 2);
  auto r = exact(parse_request, test::to_bytes(out));
  REQUIRE(r.complete());
  CHECK(r.value.target.domain_name() == name);

  auto literal =
      exact(parse_request, b({0x05, 0x01, 0x00, 0x03, 9}) + test::text("127.0.0.1") + b({0, 80}));
  REQUIRE(literal.complete());
  CHECK(literal.value.target.is_domain());
}

TEST_CASE("request: each malformation has its own error, reported as soon as it arrives") {
  CHECK(parse_request(b({0x04})).error == errc::bad_version);
  CHECK(parse_request(b({0x05, 0x00})).error == errc::bad_command);
  CHECK(parse_request(b({0x05, 0x04})).error == errc::bad_command);
  CHECK(parse_request(b({0x05, 0x01, 0x01})).error == errc::bad_reserved_field);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x02})).error == errc::bad_address_type);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x05, 1, 2, 3, 4, 0, 80})).error ==
        errc::bad_address_type);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50})).error ==
        errc::empty_domain_name);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00})).error == errc::bad_domain_name);
  CHECK(exact(parse_request, b({0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0})).error ==
        errc::truncated_message);
  CHECK(exact(parse_request, b({0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80, 0})).error ==
        errc::trailing_data);
  // The size needed grows with what the header says.
  CHECK(parse_request(b({0x05, 0x01, 0x00})).size == 4);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x01})).size == 10);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x04})).size == 22);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x03})).size == 5);
  CHECK(parse_request(b({0x05, 0x01, 0x00, 0x03, 0x0a})).size == 17);
}

TEST_CASE("request: names that cannot be encoded are refused before anything is sent") {
  request_buffer out;
  CHECK(encode(request{command::connect, address::domain("", 80)}, out) == errc::empty_domain_name);
  CHECK(encode(request{command::connect, address::domain(std::string(256, 'a'), 80)}, out) ==
        errc::domain_name_too_long);
  CHECK(encode(request{command::connect, address::domain(std::string("a\0b", 3), 80)}, out) ==
        errc::bad_domain_name);
}

TEST_CASE("reply: every REP code 00-08 round-trips, and an unknown code still parses") {
  for (int rep = 0; rep <= 8; ++rep) {
    reply msg{static_cast<byte>(rep), address(asio::ip::make_address("198.51.100.7"), 1080)};
    const bytes wire = b({0x05, rep, 0x00, 0x01, 198, 51, 100, 7, 0x04, 0x38});
    reply_buffer out;
    REQUIRE_FALSE(encode(msg, out));
    CHECK(test::to_bytes(out) == wire);
    auto r = exact(parse_reply, wire);
    REQUIRE(r.complete());
    CHECK(r.value == msg);
  }
  auto unknown = exact(parse_reply, b({0x05, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  REQUIRE(unknown.complete());
  CHECK(unknown.value.rep == 0x09);
  CHECK(error_from_reply(unknown.value.rep) == errc::unknown_reply_code);

  const bytes v6 =
      b({0x05, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90});
  auto r6 = exact(parse_reply, v6);
  REQUIRE(r6.complete());
  CHECK(r6.value.bound == address(asio::ip::make_address("::1"), 8080));
  check_prefixes_incomplete(parse_reply, v6);

  CHECK(parse_reply(b({0x04, 0x00})).error == errc::bad_version);
  CHECK(parse_reply(b({0x05, 0x00, 0x00, 0x07})).error == errc::bad_address_type);
}

TEST_CASE("UDP header: RSV 0000, FRAG 00, each address type; DATA follows") {
  udp_header hdr{0, address::domain("dns.example", 53)};
  udp_header_buffer out;
  REQUIRE_FALSE(encode(hdr, out));
  const bytes head = b({0x00, 0x00, 0x00, 0x03, 11}) + test::text("dns.example") + b({0x00, 0x35});
  CHECK(test::to_bytes(out) == head);
  const bytes datagram = head + test::text("payload");
  auto r = parse_udp_header(datagram);
  REQUIRE(r.complete());
  CHECK(r.size == head.size());
  CHECK(r.value == hdr);

  auto v4 = parse_udp_header(b({0, 0, 0, 0x01, 10, 0, 0, 1, 0x00, 0x35}));
  REQUIRE(v4.complete());
  CHECK(v4.value.target == address(asio::ip::make_address("10.0.0.1"), 53));
  check_prefixes_incomplete(
      parse_udp_header, b({0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 53}));
}

TEST_CASE("UDP header: FRAG != 0 is dropped, RSV must be zero, bad ATYP") {
  CHECK(parse_udp_header(b({0, 0, 1, 0x01, 10, 0, 0, 1, 0, 53})).error ==
        errc::fragmented_datagram);
  CHECK(parse_udp_header(b({0, 1, 0, 0x01, 10, 0, 0, 1, 0, 53})).error == errc::bad_reserved_field);
  CHECK(parse_udp_header(b({1})).error == errc::bad_reserved_field);
  CHECK(parse_udp_header(b({0, 0, 0, 0x09})).error == errc::bad_address_type);
  CHECK(parse_udp_header(b({0, 0, 0, 0x03, 0})).error == errc::empty_domain_name);
}
