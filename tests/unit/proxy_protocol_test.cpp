// Exact-byte tests of the PROXY protocol header, both versions.
#include <doctest/doctest.h>

#include "bytes.hpp"
#include "socks5/wire/proxy_protocol.hpp"

using namespace socks5;
using namespace socks5::wire;
using test::b;
using test::bytes;
using test::operator+;

namespace {

const bytes signature = b({0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a});

asio::ip::tcp::endpoint ep(const char* ip, std::uint16_t port) {
  return {asio::ip::make_address(ip), port};
}

bytes encoded(const proxy_header& h) {
  proxy_header_buffer out;
  REQUIRE_FALSE(encode(h, out));
  return test::to_bytes(out);
}

// Every strict prefix is incomplete, asks for more than it has and never for more than the
// header: nothing after it may be consumed.
void check_prefixes_incomplete(const bytes& whole) {
  for (std::size_t n = 0; n < whole.size(); ++n) {
    auto r = parse_proxy_header(bytes_view(whole.data(), n));
    INFO("prefix length " << n << " of " << test::hex(whole));
    REQUIRE(r.incomplete());
    CHECK(r.size > n);
    CHECK(r.size <= whole.size());
  }
}

std::error_code error_of(const bytes& in) {
  return parse_proxy_header(in).error;
}

}  // namespace

TEST_CASE("PROXY v2: TCP over IPv4, the spec's layout") {
  // 192.0.2.1:56324 -> 198.51.100.7:1080
  const bytes wire = signature + b({0x21, 0x11, 0x00, 0x0c,    //
                                    0xc0, 0x00, 0x02, 0x01,    // source address
                                    0xc6, 0x33, 0x64, 0x07,    // destination address
                                    0xdc, 0x04, 0x04, 0x38});  // ports
  const proxy_header h{2, proxy_command::proxy,
                       proxy_addresses{ep("192.0.2.1", 56324), ep("198.51.100.7", 1080)}};
  CHECK(encoded(h) == wire);
  auto r = parse_proxy_header(wire);
  REQUIRE(r.complete());
  CHECK(r.size == 28);
  CHECK(r.value == h);
  check_prefixes_incomplete(wire);
}

TEST_CASE("PROXY v2: TCP over IPv6") {
  const bytes src = b({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
  const bytes dst = b({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x80});
  const bytes wire =
      signature + b({0x21, 0x21, 0x00, 0x24}) + src + dst + b({0x30, 0x39, 0x04, 0x38});
  const proxy_header h{2, proxy_command::proxy,
                       proxy_addresses{ep("2001:db8::1", 12345), ep("2001:db8::1080", 1080)}};
  CHECK(encoded(h) == wire);
  auto r = parse_proxy_header(wire);
  REQUIRE(r.complete());
  CHECK(r.size == 52);
  CHECK(r.value == h);
  check_prefixes_incomplete(wire);
}

TEST_CASE("PROXY v2: LOCAL, the balancer's health check, keeps the real addresses") {
  const bytes wire = signature + b({0x20, 0x00, 0x00, 0x00});
  const proxy_header local{2, proxy_command::local, std::nullopt};
  CHECK(encoded(local) == wire);
  auto r = parse_proxy_header(wire);
  REQUIRE(r.complete());
  CHECK(r.size == 16);
  CHECK(r.value == local);
  check_prefixes_incomplete(wire);

  // The family is ignored and LEN still skipped: an address block is not taken for LOCAL.
  const bytes with_block =
      signature + b({0x20, 0x11, 0x00, 0x0c, 127, 0, 0, 1, 127, 0, 0, 1, 0, 80, 0, 81});
  auto s = parse_proxy_header(with_block);
  REQUIRE(s.complete());
  CHECK(s.size == 28);
  CHECK_FALSE(s.value.addresses);
  // So is a family no version defines.
  auto t = parse_proxy_header(signature + b({0x20, 0xff, 0x00, 0x00}));
  REQUIRE(t.complete());
  CHECK(t.value.command == proxy_command::local);
}

TEST_CASE("PROXY v2: UNSPEC family or transport under PROXY means no addresses") {
  for (int fam : {0x00, 0x01, 0x10, 0x20}) {
    INFO("family/transport " << fam);
    const bytes wire = signature + b({0x21, fam, 0x00, 0x03, 0xaa, 0xbb, 0xcc});
    auto r = parse_proxy_header(wire);
    REQUIRE(r.complete());
    CHECK(r.size == 19);
    CHECK(r.value.command == proxy_command::proxy);
    CHECK_FALSE(r.value.addresses);
  }
}

TEST_CASE("PROXY v2: TLVs after the address block are skipped, the next octets are not taken") {
  const bytes block = b({10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0x04, 0x38});
  const bytes tlvs = b({0x04, 0x00, 0x00,                 // PP2_TYPE_NOOP, empty
                        0x05, 0x00, 0x03, 'i', 'd', '1',  // PP2_TYPE_UNIQUE_ID
                        0x20, 0x00, 0x01, 0x00});         // PP2_TYPE_SSL, truncated: not ours
  const bytes header = signature + b({0x21, 0x11, 0x00, 0x19}) + block + tlvs;
  REQUIRE(header.size() == 16 + 0x19);
  const bytes greeting = b({0x05, 0x01, 0x00});
  auto r = parse_proxy_header(header + greeting);
  REQUIRE(r.complete());
  CHECK(r.size == header.size());
  REQUIRE(r.value.addresses);
  CHECK(r.value.addresses->source == ep("10.0.0.1", 8080));
  CHECK(r.value.addresses->destination == ep("10.0.0.2", 1080));
  check_prefixes_incomplete(header);
}

TEST_CASE("PROXY v2: strictness, each with its own error") {
  // The signature is checked octet by octet as it arrives.
  CHECK(error_of(b({0x0d, 0x0a, 0x0d, 0x0b})) == errc::proxy_bad_signature);
  bytes wrong = signature + b({0x21, 0x11, 0x00, 0x0c});
  wrong[11] = 0x0b;
  CHECK(error_of(wrong) == errc::proxy_bad_signature);
  CHECK(error_of(signature + b({0x11})) == errc::proxy_bad_version);
  CHECK(error_of(signature + b({0x31, 0x11, 0x00, 0x0c})) == errc::proxy_bad_version);
  CHECK(error_of(signature + b({0x22})) == errc::proxy_bad_command);
  CHECK(error_of(signature + b({0x2f, 0x11, 0x00, 0x0c})) == errc::proxy_bad_command);
  CHECK(error_of(signature + b({0x21, 0x41, 0x00, 0x0c})) == errc::proxy_bad_address_family);
  CHECK(error_of(signature + b({0x21, 0x13, 0x00, 0x0c})) == errc::proxy_bad_address_family);
  // UDP, unix stream, unix datagram: no TCP client to name.
  CHECK(error_of(signature + b({0x21, 0x12, 0x00, 0x0c})) == errc::proxy_unsupported_address);
  CHECK(error_of(signature + b({0x21, 0x22, 0x00, 0x24})) == errc::proxy_unsupported_address);
  CHECK(error_of(signature + b({0x21, 0x31, 0x00, 0xd8})) == errc::proxy_unsupported_address);
  CHECK(error_of(signature + b({0x21, 0x32, 0x00, 0xd8})) == errc::proxy_unsupported_address);
  // Decided on the fixed part, before waiting for the block.
  CHECK(error_of(signature + b({0x21, 0x11, 0x00, 0x0b})) == errc::proxy_address_too_short);
  CHECK(error_of(signature + b({0x21, 0x21, 0x00, 0x0c})) == errc::proxy_address_too_short);
  CHECK(error_of(signature + b({0x21, 0x11, 0x08, 0x01})) == errc::proxy_header_too_long);
  CHECK(error_of(signature + b({0x20, 0x00, 0xff, 0xff})) == errc::proxy_header_too_long);
  // The largest LEN accepted: 2048 octets.
  auto largest = parse_proxy_header(signature + b({0x21, 0x11, 0x08, 0x00}));
  REQUIRE(largest.incomplete());
  CHECK(largest.size == 16 + 2048);
}

TEST_CASE("neither version: a SOCKS greeting, TLS, HTTP fail on the first octet") {
  CHECK(error_of(b({0x05})) == errc::proxy_bad_signature);
  CHECK(error_of(b({0x05, 0x01, 0x00})) == errc::proxy_bad_signature);
  CHECK(error_of(b({0x16, 0x03, 0x01})) == errc::proxy_bad_signature);
  CHECK(error_of(test::text("GET / HTTP/1.1\r\n")) == errc::proxy_bad_signature);
  CHECK(error_of(test::text("PRI * HTTP/2.0")) == errc::proxy_bad_signature);
  // An empty input asks for one octet only: a client without a header may send just three.
  auto r = parse_proxy_header({});
  REQUIRE(r.incomplete());
  CHECK(r.size == 1);
}

TEST_CASE("PROXY v1: TCP4, TCP6 and UNKNOWN lines") {
  const bytes tcp4 = test::text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  const proxy_header h4{1, proxy_command::proxy,
                        proxy_addresses{ep("192.168.0.1", 56324), ep("192.168.0.11", 443)}};
  CHECK(encoded(h4) == tcp4);
  auto r4 = parse_proxy_header(tcp4 + b({0x05, 0x01, 0x00}));
  REQUIRE(r4.complete());
  CHECK(r4.size == tcp4.size());
  CHECK(r4.value == h4);
  check_prefixes_incomplete(tcp4);

  const bytes tcp6 = test::text("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
  const proxy_header h6{1, proxy_command::proxy,
                        proxy_addresses{ep("2001:db8::1", 1), ep("2001:db8::2", 65535)}};
  CHECK(encoded(h6) == tcp6);
  auto r6 = parse_proxy_header(tcp6);
  REQUIRE(r6.complete());
  CHECK(r6.value == h6);
  check_prefixes_incomplete(tcp6);
  // Upper case hex, a full form, an IPv4 tail.
  auto upper =
      parse_proxy_header(test::text("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:192.0.2.1 0 0\r\n"));
  REQUIRE(upper.complete());
  REQUIRE(upper.value.addresses);
  CHECK(upper.value.addresses->source == ep("2001:db8::1", 0));

  const bytes unknown = test::text("PROXY UNKNOWN\r\n");
  const proxy_header hu{1, proxy_command::proxy, std::nullopt};
  CHECK(encoded(hu) == unknown);
  auto ru = parse_proxy_header(unknown + b({0x05}));
  REQUIRE(ru.complete());
  CHECK(ru.size == 15);
  CHECK(ru.value == hu);
  check_prefixes_incomplete(unknown);
  // Anything after UNKNOWN up to the CRLF is ignored; the longest line is 107 octets.
  const bytes longest = test::text(
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
      "ffff 65535 65535\r\n");
  REQUIRE(longest.size() == 107);
  auto rl = parse_proxy_header(longest);
  REQUIRE(rl.complete());
  CHECK(rl.size == 107);
  CHECK_FALSE(rl.value.addresses);
}

TEST_CASE("PROXY v1: strictness") {
  auto bad = [](const char* line) { return error_of(test::text(line)); };
  CHECK(bad("PROXZ") == errc::proxy_bad_signature);
  CHECK(bad("proxy TCP4") == errc::proxy_bad_signature);
  CHECK(bad("PROXY  TCP4") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP5 ") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY UDP4 ") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY UNKNOWNX") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4\r\n") == errc::proxy_bad_text_header);
  // Heading zeros, out of range, missing or extra fields, wrong family, extra spaces.
  CHECK(bad("PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.256 192.168.0.11 56324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 1\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 ::1 ::1 56324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP6 127.0.0.1 127.0.0.1 56324 443\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n") == errc::proxy_bad_text_header);
  // Only CRLF ends the line: a lone LF, or a CR followed by anything else, is an error at once.
  CHECK(bad("PROXY UNKNOWN\n") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY UNKNOWN\rx") == errc::proxy_bad_text_header);
  CHECK(bad("PROXY TCP4 1.2.3.4\n") == errc::proxy_bad_text_header);
  // No room left for a CRLF within 107 octets: known as soon as the 106th octet is not a CR.
  CHECK(bad(("PROXY UNKNOWN " + std::string(92, 'x')).c_str()) == errc::proxy_header_too_long);
  CHECK(bad(("PROXY UNKNOWN " + std::string(92, 'x') + "\r").c_str()) ==
        errc::proxy_header_too_long);
  CHECK(parse_proxy_header(test::text("PROXY UNKNOWN " + std::string(91, 'x'))).incomplete());
  CHECK(
      parse_proxy_header(test::text("PROXY UNKNOWN " + std::string(91, 'x') + "\r")).incomplete());
}

TEST_CASE("PROXY v1: a short header is read in few steps, never past its end") {
  // The shortest line of each kind is asked for at once.
  CHECK(parse_proxy_header(b({'P'})).size == 15);
  CHECK(parse_proxy_header(test::text("PROXY TCP4 ")).size == 32);
  CHECK(parse_proxy_header(test::text("PROXY TCP6 ")).size == 22);
  CHECK(parse_proxy_header(test::text("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r")).size == 32);
  auto r = parse_proxy_header(test::text("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n"));
  REQUIRE(r.complete());
  CHECK(r.size == 32);
}

TEST_CASE("PROXY header encoding: families must agree; LOCAL carries no addresses") {
  proxy_header_buffer out;
  const proxy_header mixed{2, proxy_command::proxy,
                           proxy_addresses{ep("192.0.2.1", 1), ep("2001:db8::1", 2)}};
  CHECK(encode(mixed, out) == errc::proxy_unsupported_address);
  const proxy_header local{2, proxy_command::local,
                           proxy_addresses{ep("192.0.2.1", 1), ep("192.0.2.2", 2)}};
  CHECK(encoded(local) == signature + b({0x20, 0x00, 0x00, 0x00}));
}
