// CIDR networks for access rules.
#include <doctest/doctest.h>

#include "socks5/network.hpp"

using namespace socks5;

namespace {

network net(std::string_view text) {
  std::error_code ec;
  auto n = network::parse(text, ec);
  INFO(text);
  REQUIRE_FALSE(ec);
  return n;
}

bool parses(std::string_view text) {
  std::error_code ec;
  network::parse(text, ec);
  return !ec;
}

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

}  // namespace

TEST_CASE("network: IPv4 and IPv6 CIDR, and a bare address as one host") {
  const auto host = net("127.0.0.2/32");
  CHECK(host.base() == ip("127.0.0.2"));
  CHECK(host.prefix_length() == 32);
  CHECK(host.to_string() == "127.0.0.2/32");
  CHECK(host.contains(ip("127.0.0.2")));
  CHECK_FALSE(host.contains(ip("127.0.0.3")));
  CHECK(net("127.0.0.2") == host);

  const auto loopback = net("::1/128");
  CHECK(loopback.contains(ip("::1")));
  CHECK_FALSE(loopback.contains(ip("::2")));
  CHECK_FALSE(loopback.contains(ip("127.0.0.1")));
  CHECK(net("::1") == loopback);

  const auto ten = net("10.0.0.0/8");
  CHECK(ten.contains(ip("10.255.1.2")));
  CHECK_FALSE(ten.contains(ip("11.0.0.0")));
  CHECK_FALSE(ten.contains(ip("::a00:1")));  // IPv4-compatible is not IPv4-mapped

  const auto doc = net("2001:DB8::/32");
  CHECK(doc.to_string() == "2001:db8::/32");
  CHECK(doc.contains(ip("2001:db8:ffff::1")));
  CHECK_FALSE(doc.contains(ip("2001:db9::1")));
  CHECK_FALSE(doc.contains(ip("32.1.13.184")));

  CHECK(net("192.168.1.0/25").contains(ip("192.168.1.127")));
  CHECK_FALSE(net("192.168.1.0/25").contains(ip("192.168.1.128")));
}

TEST_CASE("network: /0 holds everything of its kind; ::/0 holds IPv4 too") {
  const auto all4 = net("0.0.0.0/0");
  CHECK(all4 == network{});
  CHECK(all4.contains(ip("255.255.255.255")));
  CHECK(all4.contains(ip("::ffff:1.2.3.4")));
  CHECK_FALSE(all4.contains(ip("::1")));
  const auto all6 = net("::/0");
  CHECK(all6.contains(ip("::1")));
  CHECK(all6.contains(ip("1.2.3.4")));
}

TEST_CASE("network: IPv4-mapped IPv6 addresses match IPv4 networks, and the other way") {
  const auto host = net("127.0.0.2/32");
  CHECK(host.contains(ip("::ffff:127.0.0.2")));
  CHECK_FALSE(host.contains(ip("::ffff:127.0.0.3")));
  const auto mapped = net("::ffff:192.0.2.0/120");
  CHECK(mapped.contains(ip("192.0.2.77")));
  CHECK(mapped.contains(ip("::ffff:192.0.2.1")));
  CHECK_FALSE(mapped.contains(ip("192.0.3.1")));
}

TEST_CASE("network: strict parsing") {
  for (const char* bad : {"",
                          "/",
                          "/8",
                          "10.0.0.0/",
                          "10.0.0.0/33",
                          "::/129",
                          "10.0.0.0/08",
                          "10.0.0.0/-1",
                          "10.0.0.0/+8",
                          "10.0.0.0/8 ",
                          " 10.0.0.0/8",
                          "10.0.0/8",
                          "10.0.0.0.0/8",
                          "localhost/32",
                          "10.0.0.0/8/8",
                          "fe80::1%eth0/128",
                          "fe80::1%1",
                          "10.0.0.1/8",
                          "2001:db8::1/32",
                          "1.2.3.4/1000",
                          "::g/0",
                          "10.0.0.0\n/8"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(parses(bad));
  }
  std::error_code ec;
  network::parse("10.0.0.1/8", ec);
  CHECK(ec == std::errc::invalid_argument);
  network direct(ip("10.0.0.0"), 33, ec);
  CHECK(ec == std::errc::invalid_argument);
  network ok(ip("10.0.0.0"), 8, ec);
  CHECK_FALSE(ec);
  CHECK(ok == net("10.0.0.0/8"));
}
