#include <doctest/doctest.h>

#include "socks5/address.hpp"

using socks5::address;

TEST_CASE("address: IP literals become IP addresses, other hosts names") {
  CHECK(address("192.0.2.1", 80).is_ipv4());
  CHECK(address("::1", 80).is_ipv6());
  CHECK(address("[::1]", 80).is_ipv6());
  CHECK(address("example.com", 80).is_domain());
  CHECK(address::domain("192.0.2.1", 80).is_domain());
  // The family is kept as given: a v4-mapped IPv6 address stays IPv6 (ATYP 04 on the wire).
  CHECK(address(asio::ip::make_address("::ffff:192.0.2.1"), 1).is_ipv6());
}

TEST_CASE("address: text forms") {
  CHECK(address("192.0.2.1", 80).to_string() == "192.0.2.1:80");
  CHECK(address("2001:db8::1", 443).to_string() == "[2001:db8::1]:443");
  CHECK(address("example.com", 8080).to_string() == "example.com:8080");
  CHECK(address("2001:db8::1", 443).host() == "2001:db8::1");
}

TEST_CASE("address::parse") {
  std::error_code ec;
  CHECK(address::parse("127.0.0.1:1080", ec) == address("127.0.0.1", 1080));
  CHECK_FALSE(ec);
  CHECK(address::parse("[::1]:1080", ec) == address("::1", 1080));
  CHECK_FALSE(ec);
  CHECK(address::parse("proxy.example:1", ec) == address::domain("proxy.example", 1));
  CHECK_FALSE(ec);
  for (const char* bad :
       {"nohost", ":80", "host:", "host:65536", "host:8x", "::1:80", "[::1:80", "[zz]:1"}) {
    INFO(bad);
    address::parse(bad, ec);
    CHECK(ec);
  }
}
